"""Root URLs: the admin portal, the portal's JSON endpoints and the client API."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from telemetry import dashboard, erasure_views
from telemetry.datasheet_views import datasheet_csv_view, datasheet_json_view, datasheet_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("portal/dashboard/", dashboard.dashboard_view, name="dashboard"),
    path("portal/dashboard/export.csv", dashboard.dashboard_export_view, name="dashboard_export"),
    path("portal/dashboard/all/", dashboard.all_tenants_dashboard_view, name="dashboard_all_tenants"),
    path(
        "portal/dashboard/all/export.csv",
        dashboard.all_tenants_dashboard_export_view,
        name="dashboard_all_tenants_export",
    ),
    path("portal/datasheet/", datasheet_view, name="datasheet"),
    path("portal/datasheet/export.csv", datasheet_csv_view, name="datasheet_export_csv"),
    path("portal/datasheet/export.json", datasheet_json_view, name="datasheet_export_json"),
    path("portal/erase/", erasure_views.erase_view, name="erase_end_user"),
    # The language switcher on every page posts to set_language (/i18n/setlang/).
    path("i18n/", include("django.conf.urls.i18n")),
    # The portal is the admin: nobody has anything to find at the bare root.
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False), name="root"),
    path("", include("telemetry.urls")),
]

# Problems for API paths (api.md: every API error is application/problem+json), pages elsewhere.
handler400 = "telemetry.api.bad_request"
handler403 = "telemetry.api.permission_denied"
handler404 = "telemetry.api.page_not_found"
handler500 = "telemetry.api.server_error"

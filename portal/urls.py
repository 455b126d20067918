"""Root URLs: the admin portal, the portal's JSON endpoints and the client API."""

from django.contrib import admin
from django.urls import include, path

from telemetry import dashboard

urlpatterns = [
    path("admin/", admin.site.urls),
    path("portal/dashboard/", dashboard.dashboard_view, name="dashboard"),
    path("portal/dashboard/export.csv", dashboard.dashboard_export_view, name="dashboard_export"),
    path("", include("telemetry.urls")),
]

# Problems for API paths (api.md: every API error is application/problem+json), pages elsewhere.
handler404 = "telemetry.api.page_not_found"
handler500 = "telemetry.api.server_error"

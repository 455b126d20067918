"""Root URLs: the admin portal, the portal's JSON endpoints and the client API."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("telemetry.urls")),
]

"""The portal's URLs without the dashboard, for the admin's behaviour when it is not installed."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]

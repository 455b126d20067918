"""The client API (/api/v1/...) and the portal's JSON endpoints."""

from django.urls import path, re_path

from telemetry import api

urlpatterns = [
    path("api/v1/telemetry", api.telemetry_submit, name="api_telemetry"),
    path("api/v1/policy", api.policy_show, name="api_policy"),
    path("api/v1/error-reporting", api.error_reporting_put, name="api_error_reporting_body"),
    # Deprecated: the user ID in the URL. `path:` because a user ID may hold "/" (dom%2Fuser); the route
    # still has to end in /error-reporting.
    path("api/v1/users/<path:user_id>/error-reporting", api.user_error_reporting_put, name="api_error_reporting"),
    path("api/v1/openapi.json", api.openapi_show, name="api_openapi"),
    path("portal/api/counts", api.counts_show, name="portal_counts"),
    # Anything else under the API prefixes is a problem+json 404 in every mode: with DEBUG on,
    # Django's HTML debug page would take the place of handler404.
    re_path(r"^(?:api|portal/api)/", api.endpoint_not_found),
]

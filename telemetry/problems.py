"""RFC 9457 problem details: how every error of the JSON API answers (application/problem+json)."""

from django.http import HttpRequest, HttpResponse
from django.views import csrf

from telemetry.schemas import FieldError, Problem

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Problem types are URNs: stable identifiers that no client is tempted to dereference.
TYPE_PREFIX = "urn:telemetry-portal:problem:"
# Where every answer, errors included, is a problem (api.md); the admin and dashboards answer pages.
API_PATH_PREFIXES = ("/api/", "/portal/api/")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PATH_PREFIXES)


def problem(
    *,
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    quiet: bool = False,
) -> HttpResponse:
    """A problem response. `kind` names the problem type (e.g. "rate-limited"); `detail` is one line,
    safe to show. `quiet` keeps Django from logging the request path, for paths that hold a user ID."""
    fields = {"type": TYPE_PREFIX + kind, "title": title, "status": status, "detail": detail}
    if errors:
        fields["errors"] = [FieldError(pointer=pointer, detail=message) for pointer, message in errors]
    body = Problem(**fields)
    response = HttpResponse(
        body.model_dump_json(exclude_unset=True), status=status, content_type=PROBLEM_CONTENT_TYPE, headers=headers
    )
    if quiet:
        # Django's request logger writes "<reason>: <path>" for every 4xx/5xx unless the response says
        # it has been logged already; a path like /api/v1/users/<user id>/... must not reach a log.
        response._has_been_logged = True
    return response


def bad_request(detail: str, *, errors: list[tuple[str, str]] | None = None, quiet: bool = False) -> HttpResponse:
    return problem(status=400, kind="bad-request", title="Bad request", detail=detail, errors=errors, quiet=quiet)


def unauthorized(detail: str, *, quiet: bool = False) -> HttpResponse:
    return problem(
        status=401,
        kind="unauthorized",
        title="Not authenticated",
        detail=detail,
        headers={"WWW-Authenticate": 'Bearer realm="telemetry"'},
        quiet=quiet,
    )


def not_found(detail: str, *, quiet: bool = False) -> HttpResponse:
    return problem(status=404, kind="not-found", title="Not found", detail=detail, quiet=quiet)


def method_not_allowed(allowed: list[str], *, quiet: bool = False) -> HttpResponse:
    return problem(
        status=405,
        kind="method-not-allowed",
        title="Method not allowed",
        detail=f"This endpoint answers {', '.join(allowed)}.",
        headers={"Allow": ", ".join(allowed)},
        quiet=quiet,
    )


def payload_too_large(limit: int, *, quiet: bool = False) -> HttpResponse:
    return problem(
        status=413,
        kind="payload-too-large",
        title="Payload too large",
        detail=f"The body is larger than {limit} bytes.",
        quiet=quiet,
    )


def unsupported_media_type(*, quiet: bool = False) -> HttpResponse:
    return problem(
        status=415,
        kind="unsupported-media-type",
        title="Unsupported media type",
        detail="The body must be JSON sent as Content-Type: application/json (UTF-8).",
        quiet=quiet,
    )


def rate_limited(retry_after: int, *, quiet: bool = False) -> HttpResponse:
    return problem(
        status=429,
        kind="rate-limited",
        title="Too many requests",
        detail=f"The tenant's rate limit is reached; retry in {retry_after} seconds.",
        headers={"Retry-After": str(retry_after)},
        quiet=quiet,
    )


def storage_unavailable(retry_after: int, *, quiet: bool = False) -> HttpResponse:
    return problem(
        status=503,
        kind="storage-unavailable",
        title="Service unavailable",
        detail="The request could not be stored and nothing of it was kept; retrying it is safe.",
        headers={"Retry-After": str(retry_after)},
        quiet=quiet,
    )


def server_error(*, quiet: bool = False) -> HttpResponse:
    return problem(
        status=500,
        kind="server-error",
        title="Internal server error",
        detail="The server could not answer this request.",
        quiet=quiet,
    )


CSRF_FAILED = (
    "A portal session's request that changes something must carry its CSRF token; "
    "telemetry clients authenticate with their ingestion key instead."
)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: a problem under the API prefixes, Django's page elsewhere.

    Quiet, and the reason left out of the detail: the refused path may hold a user ID, and a reason
    may quote the request's Origin or Referer."""
    if is_api_path(request.path):
        return problem(status=403, kind="csrf-failed", title="Forbidden", detail=CSRF_FAILED, quiet=True)
    return csrf.csrf_failure(request, reason=reason)

"""The JSON endpoints: the client API (/api/v1/..., ingestion key) and the portal's counts (session).

Views stay thin: authenticate, parse, call a service or selector, answer. Every failure answers an
RFC 9457 problem; a client's input never causes a 500. Request bodies are never logged.
"""

import datetime as dt
import functools
import json
import logging

from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from pydantic import BaseModel, ValidationError

from portal.admin_site import forbidden_page
from telemetry import problems
from telemetry.forms import PeriodForm
from telemetry.names import fqdn_key
from telemetry.ratelimit import rate_limit_hit
from telemetry.records import NAME
from telemetry.schemas import (
    MAX_BODY_BYTES,
    Envelope,
    ErrorReportingBodyIn,
    ErrorReportingIn,
    ErrorReportingResponse,
    PolicyQueryIn,
    describe_errors,
    echo,
    json_pointer,
    openapi_document,
    parse_batch,
)
from telemetry.selectors import census_sums, client_policy, counts_for_tenant
from telemetry.services import error_reporting_set, ingest_batch_answer
from tenants.models import Pool, Tenant
from tenants.scoping import admin_tenant_id, visible_tenant_ids
from tenants.selectors import tenant_for_viewer
from tenants.services import ingestion_key_authenticate

logger = logging.getLogger(__name__)

# How long a client should wait after a storage failure; short, because retrying the batch is safe.
STORAGE_RETRY_AFTER = 5
# RFC 9745: the forms with a user ID in the URL are deprecated since 2026-12-03 (a Structured Field Date).
DEPRECATED_SINCE = "@1796256000"

UNAUTHENTICATED = "A valid ingestion key is required: Authorization: Bearer <key>."
NOT_JSON = "The body is not JSON (UTF-8)."
NOT_AN_OBJECT = "The body must be a JSON object."
BAD_BATCH = "The body is not a batch of records: {reason}"
POOL_UNKNOWN = "This tenant has no pool {pool!r}."
USER_INVALID = "A user ID is 1 to {limit} characters."
SIGN_IN_REQUIRED = "Sign in to the portal first."
TENANT_REQUIRED = "Name a tenant: ?tenant=<slug>."
TENANT_UNKNOWN = "No tenant {slug!r}."
DATE_INVALID = "{name} must be a date like 2026-11-20."
PERIOD_INVALID = "from must not be after to."
NO_SUCH_ENDPOINT = "There is no such endpoint."


def json_response(body: BaseModel) -> HttpResponse:
    """A response model as JSON; fields left unset (a result's reason, a batch's errors) are left out."""
    return HttpResponse(body.model_dump_json(exclude_unset=True), content_type="application/json")


class _Refused(Exception):
    """A whole request refused; carries the problem response."""

    def __init__(self, response: HttpResponse):
        super().__init__(response.status_code)
        self.response = response


def _bearer_secret(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def client_endpoint(*, methods: tuple[str, ...], quiet: bool = False):
    """A client API view: the method checked, the tenant resolved from the bearer key alone (never a
    session cookie), the tenant's rate limit counted. The view gets `tenant` as a keyword argument."""

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request: HttpRequest, **kwargs):
            if request.method not in methods:
                return problems.method_not_allowed(list(methods), quiet=quiet)
            try:
                tenant = ingestion_key_authenticate(secret=_bearer_secret(request))
                if tenant is None:
                    return problems.unauthorized(UNAUTHENTICATED, quiet=quiet)
                retry_after = rate_limit_hit(tenant_id=tenant.pk)
                if retry_after is not None:
                    return problems.rate_limited(retry_after, quiet=quiet)
                return view(request, tenant=tenant, **kwargs)
            except _Refused as refused:
                if quiet:
                    refused.response._has_been_logged = True
                return refused.response
            except DatabaseError as error:
                # The database is unreachable or failing: the client may retry, nothing was changed.
                logger.warning("A client request failed on the database (%s).", type(error).__name__)
                return problems.storage_unavailable(STORAGE_RETRY_AFTER, quiet=quiet)

        return wrapper

    return decorator


def _body(request: HttpRequest) -> bytes:
    """The request body: at most MAX_BODY_BYTES are ever read, whatever Content-Length claims."""
    content_type = request.content_type.lower() if request.content_type else ""
    charset = request.content_params.get("charset", "utf-8").lower()
    if content_type != "application/json" or charset not in ("utf-8", "utf8"):
        raise _Refused(problems.unsupported_media_type())
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        raise _Refused(problems.payload_too_large(MAX_BODY_BYTES))
    body = request.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        raise _Refused(problems.payload_too_large(MAX_BODY_BYTES))
    return body


def _parse_json(body: bytes):
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        raise _Refused(problems.bad_request(NOT_JSON)) from None


def _json_body(request: HttpRequest):
    """The parsed JSON body (see _body)."""
    return _parse_json(_body(request))


def _read_batch(request: HttpRequest) -> list:
    """The records of a batch: validated already where the fast path could (schemas.parse_batch), else
    parsed JSON for ingest_batch to validate one by one. The careful path decides whatever the fast one
    refuses as a whole, so a whole request is refused with the same problem either way."""
    body = _body(request)
    records = parse_batch(body)
    if records is not None:
        return records
    parsed = _parse_json(body)
    if not isinstance(parsed, dict):
        raise _Refused(problems.bad_request(NOT_AN_OBJECT))
    try:
        return Envelope.model_validate(parsed).records
    except ValidationError as error:
        raise _Refused(_validation_problem(error, detail_template=BAD_BATCH)) from None


def _validation_problem(error: ValidationError, *, detail_template: str) -> HttpResponse:
    described = describe_errors(error)
    errors = [(json_pointer(*location), message) for location, message in described]
    location, message = described[0]
    field = ".".join(echo(p) if isinstance(p, str) else str(p) for p in location) or "body"
    return problems.bad_request(detail_template.format(reason=f"{field}: {message}"), errors=errors)


@client_endpoint(methods=("POST",))
def telemetry_submit(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """POST /api/v1/telemetry: a batch of records; one result per record, in request order."""
    records = _read_batch(request)
    try:
        answer = ingest_batch_answer(tenant=tenant, records=records)
    except DatabaseError as error:
        # The class name only: a database message may quote values of the batch.
        logger.warning("Storing a batch of tenant %s failed (%s); nothing was kept.", tenant.slug, type(error).__name__)
        return problems.storage_unavailable(STORAGE_RETRY_AFTER)
    return HttpResponse(answer.json(), content_type="application/json")


def _deprecated(response: HttpResponse, *, successor: str) -> HttpResponse:
    """Mark the answer to a request that used a deprecated form (a user ID in the URL): RFC 9745's
    Deprecation header, and where to go instead (RFC 8288 successor-version)."""
    response["Deprecation"] = DEPRECATED_SINCE
    response["Link"] = f'<{successor}>; rel="successor-version"'
    return response


def _policy_answer(*, tenant: Tenant, user_id: str | None, pool_name: str | None) -> HttpResponse:
    if user_id is not None and (len(user_id) > NAME or not user_id.strip()):
        return problems.bad_request(USER_INVALID.format(limit=NAME))
    pool = None
    if pool_name is not None:
        fqdn = fqdn_key(pool_name)
        # NUL never gets here (portal.middleware refuses it); a name too long to be a pool is none.
        if len(fqdn) <= Pool._meta.get_field("fqdn").max_length:
            pool = Pool.objects.filter(tenant=tenant, fqdn=fqdn).select_related("site").first()
        if pool is None:
            return problems.not_found(POOL_UNKNOWN.format(pool=echo(pool_name)))
    return json_response(client_policy(tenant=tenant, user_id=user_id, pool=pool))


@client_endpoint(methods=("GET", "POST"))
def policy_show(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """What the client may send, so it sends only what will be kept.

    POST /api/v1/policy {"user": ..., "pool": ...}: the user ID travels in the body. GET
    /api/v1/policy?pool=: without a user. GET ?user=: the older form, deprecated (proxies log URLs)."""
    if request.method == "POST":
        try:
            query = PolicyQueryIn.model_validate(_json_body(request))
        except ValidationError as error:
            return _validation_problem(error, detail_template="The body is not a policy question: {reason}")
        return _policy_answer(tenant=tenant, user_id=query.user or None, pool_name=query.pool or None)
    user_id = request.GET.get("user") or None
    response = _policy_answer(tenant=tenant, user_id=user_id, pool_name=request.GET.get("pool") or None)
    return response if user_id is None else _deprecated(response, successor="/api/v1/policy")


def _set_opt_in(*, tenant: Tenant, user_id: str, opted_in: bool) -> HttpResponse:
    end_user = error_reporting_set(tenant=tenant, user_id=user_id, opted_in=opted_in)
    # The user ID echoed is the one the client sent: it is the client's own and never stored.
    return json_response(ErrorReportingResponse(user=user_id, opted_in=end_user.error_reporting_opted_in))


@client_endpoint(methods=("PUT",))
def error_reporting_put(request: HttpRequest, *, tenant: Tenant) -> HttpResponse:
    """PUT /api/v1/error-reporting {"user": ..., "opted_in": ...}: the user's own opt-in (Options > General)."""
    try:
        choice = ErrorReportingBodyIn.model_validate(_json_body(request))
    except ValidationError as error:
        return _validation_problem(error, detail_template="The body is not an opt-in: {reason}")
    return _set_opt_in(tenant=tenant, user_id=choice.user, opted_in=choice.opted_in)


@client_endpoint(methods=("PUT",), quiet=True)
def user_error_reporting_put(request: HttpRequest, *, tenant: Tenant, user_id: str) -> HttpResponse:
    """PUT /api/v1/users/<user id>/error-reporting: the older form, deprecated (the user ID is in the URL).

    Quiet: Django's request log would write the path, and with it the user ID."""
    if len(user_id) > NAME or not user_id.strip():
        return problems.bad_request(USER_INVALID.format(limit=NAME), quiet=True)
    body = _json_body(request)
    try:
        choice = ErrorReportingIn.model_validate(body)
    except ValidationError as error:
        response = _validation_problem(error, detail_template="The body is not an opt-in: {reason}")
        response._has_been_logged = True
        return response
    response = _set_opt_in(tenant=tenant, user_id=user_id, opted_in=choice.opted_in)
    return _deprecated(response, successor="/api/v1/error-reporting")


@functools.cache
def _openapi_document() -> dict:
    return openapi_document()


def openapi_show(request: HttpRequest) -> HttpResponse:
    """GET /api/v1/openapi.json: generated from the schemas that validate requests (once per process)."""
    if request.method not in ("GET", "HEAD"):
        return problems.method_not_allowed(["GET"])
    return JsonResponse(_openapi_document())


@never_cache
def counts_show(request: HttpRequest) -> HttpResponse:
    """GET /portal/api/counts?tenant=&from=&to=: a tenant's counts, for dashboards and scripts.

    A portal session only (an ingestion key opens no portal page). Another tenant's slug is a 404,
    exactly like a slug that does not exist.
    """
    if request.method not in ("GET", "HEAD"):
        return problems.method_not_allowed(["GET"])
    if not request.user.is_authenticated:
        return problems.unauthorized(SIGN_IN_REQUIRED)
    slug = request.GET.get("tenant")
    if not slug and admin_tenant_id(request.user) is None:
        return problems.bad_request(TENANT_REQUIRED)
    try:
        tenant = tenant_for_viewer(viewer=request.user, slug=slug)
    except Http404:
        return problems.not_found(TENANT_UNKNOWN.format(slug=echo(slug or "")))
    period = PeriodForm(request.GET, today=dt.datetime.now(dt.UTC).date())
    if not period.is_valid():
        code, name, message = period.first_error()
        # The same checks as the dashboard's, worded for a script: they name the query parameters.
        detail = {"invalid": DATE_INVALID.format(name=name), "reversed": PERIOD_INVALID}.get(code, message)
        return problems.bad_request(detail)
    data = period.cleaned_data
    counts = counts_for_tenant(tenant=tenant, date_from=data["from"], date_to=data["to"])
    if visible_tenant_ids(request.user) is None:
        # Census names no tenant: its sums are the installation's, for those who see every tenant.
        counts.census = census_sums(date_from=data["from"], date_to=data["to"])
    return json_response(counts)


# The project's error handlers (portal/urls.py): under /api/ and /portal/api/ every error is a problem
# (api.md), elsewhere the usual pages.


def endpoint_not_found(request: HttpRequest) -> HttpResponse:
    # Quiet, and no path in the detail: an unmatched path may hold a user ID.
    return problems.not_found(NO_SUCH_ENDPOINT, quiet=True)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if problems.is_api_path(request.path):
        return endpoint_not_found(request)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if problems.is_api_path(request.path):
        return problems.server_error()
    return defaults.server_error(request)


MALFORMED_REQUEST = "The request is malformed (its Host header or its query string)."
FORBIDDEN = "This request is not allowed."


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    # A disallowed Host or too many query fields: Django refuses them before any view runs.
    if problems.is_api_path(request.path):
        return problems.bad_request(MALFORMED_REQUEST, quiet=True)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if problems.is_api_path(request.path):
        return problems.problem(status=403, kind="forbidden", title="Forbidden", detail=FORBIDDEN, quiet=True)
    return forbidden_page(request)

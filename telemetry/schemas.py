"""What a telemetry client may send (api.md), as pydantic models.

The same models validate requests and generate the OpenAPI description, so the two cannot drift.
The envelope and every record are validated separately: one bad record is rejected on its own with
a reason naming the field, and the rest of the batch goes on.

Types are strict on purpose: a counter is a JSON integer (not "3", 3.0 or true), a string is a JSON
string. Every string is bounded (the README lists the bounds for client authors).
"""

import collections
import datetime as dt
import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    WithJsonSchema,
    create_model,
)
from pydantic.json_schema import models_json_schema

from telemetry.names import fqdn_key, is_fqdn
from telemetry.pseudonymize import DOTTED_IPV4_RE
from telemetry.records import ERROR_LOG, FQDN, NAME, SHORT, THREAD_ID, USAGE_COUNTERS
from telemetry.vocabulary import UNKNOWN, Category, Client, MessageDirection, Outcome

MAX_RECORDS = 1000
MAX_BODY_BYTES = 1024 * 1024
# PositiveIntegerField is a 32-bit column on PostgreSQL; a larger counter must be a client's mistake
# (rejected), not a storage failure (503) that a retry would repeat forever.
MAX_COUNTER = 2**31 - 1
# How much of a client-chosen id or field name is echoed back in a result.
ECHO_LIMIT = 64

USAGE_IDENTIFYING_FIELDS = ("user_id", "sip_uri", "ip_address")
USAGE_IDENTIFIES_USER = "usage data must not identify a user"

RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})$")


# PostgreSQL text cannot hold NUL: it would fail at storage time (a 503 that a retry repeats), so it
# is a field error here, checked by pydantic's own (Rust) regex engine: the hot path calls no Python
# per string. Lone surrogates (valid in a JSON escape, not UTF-8) pydantic itself refuses.
NO_NUL_PATTERN = r"^[^\x00]*$"
NO_NUL_MESSAGE = "must not contain NUL characters"
# A client's clock may run ahead, not a day ahead: a record dated later would outlive its receipt
# (receipts are kept for the longest retention after arrival, telemetry/maintenance.py).
MAX_FUTURE = dt.timedelta(days=1)
FUTURE_MESSAGE = "must not be more than a day ahead of the portal's clock"
TIMESTAMP_MESSAGE = "must be an RFC 3339 date-time with a time zone, like 2026-11-20T09:15:00Z"


def _timestamp(value: Any) -> dt.datetime:
    """RFC 3339 with a time zone, as UTC, at most MAX_FUTURE ahead of the portal's clock. One Python
    call per record: the pattern, then the parse."""
    if not isinstance(value, str) or not RFC3339_RE.match(value):
        raise ValueError(TIMESTAMP_MESSAGE)
    try:
        timestamp = dt.datetime.fromisoformat(value.upper()).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValueError(TIMESTAMP_MESSAGE) from None
    if timestamp > dt.datetime.now(dt.UTC) + MAX_FUTURE:
        raise ValueError(FUTURE_MESSAGE)
    return timestamp


PARTNER_MESSAGE = "must be an organization's domain name, like contoso.com"


def _federation_partner(value: str) -> str:
    """An organization's domain name: stored in cleartext (domain.md), so it must name no person.

    An e-mail address, a SIP URI or an IP address is refused, and so is anything else that is not a
    domain name. Checked in its stored (lower-case) form, which is also what bounds its length."""
    if value and not _is_partner(value):
        raise ValueError(PARTNER_MESSAGE)
    return value


@functools.lru_cache(maxsize=4096)
def _is_partner(value: str) -> bool:
    # A tenant federates with a few partners, named in most usage records: checked once per process.
    return is_fqdn(fqdn_key(value))


def _ip_address(value: str) -> str:
    if DOTTED_IPV4_RE.fullmatch(value.strip()):  # the common case, without ipaddress's objects
        return value
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        raise ValueError("must be an IPv4 or IPv6 address") from None
    return value


def _bounded_text(max_length: int, *, min_length: int = 0) -> Any:
    return Annotated[StrictStr, Field(min_length=min_length, max_length=max_length, pattern=NO_NUL_PATTERN)]


ShortText = _bounded_text(SHORT, min_length=1)
OptionalShortText = _bounded_text(SHORT)
NameText = _bounded_text(NAME, min_length=1)
FqdnText = _bounded_text(FQDN, min_length=1)
OptionalFqdnText = _bounded_text(FQDN)
ThreadIdText = _bounded_text(THREAD_ID)
ErrorLogText = _bounded_text(ERROR_LOG)
IpAddressText = Annotated[OptionalShortText, AfterValidator(_ip_address)]
Counter = Annotated[StrictInt, Field(ge=0, le=MAX_COUNTER)]
# Pydantic's UUID takes a string (or a UUID object, which JSON cannot hold); a number is refused.
RecordId = UUID
Timestamp = Annotated[
    dt.datetime, PlainValidator(_timestamp), WithJsonSchema({"type": "string", "format": "date-time"})
]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: RecordId
    client: Client
    timestamp: Timestamp


class CensusRecordIn(_Record):
    """Census: always collected; the user ID arrives hashed by the client and is hashed again."""

    category: Literal["census"]
    app_name: ShortText
    device_model: NameText
    os_name: ShortText
    os_version: ShortText
    user_language: ShortText
    user_id: NameText
    device_id: UUID
    sign_in_attempts: Counter = 0
    sign_in_failures: Counter = 0


class _UsageRecordFields(_Record):
    category: Literal["usage"]
    pool: FqdnText
    federation_partner: Annotated[OptionalFqdnText, AfterValidator(_federation_partner)] = ""


UsageRecordIn = create_model(
    "UsageRecordIn",
    __base__=_UsageRecordFields,
    __module__=__name__,
    __doc__="Usage: may name the organization (federation partner), never a user.",
    **{counter.name: (Counter, 0) for counter in USAGE_COUNTERS},
)


class ErrorReportIn(_Record):
    """An error report: user ID and SIP URI are hashed and the IP address truncated before storage."""

    category: Literal["error"]
    pool: FqdnText
    user_id: NameText
    message_direction: MessageDirection
    conversation_state: ShortText
    error_code: NameText
    conversation_thread_id: ThreadIdText = ""
    error_log: ErrorLogText = ""
    ip_address: IpAddressText | None = None
    sip_uri: OptionalFqdnText | None = None
    os_name: OptionalShortText = ""
    crash: StrictBool = False

    @property
    def windows_crash(self) -> bool:
        return self.crash and self.os_name.strip().casefold() == "windows"


RecordIn = CensusRecordIn | UsageRecordIn | ErrorReportIn
RECORD_MODELS: dict[str, type[_Record]] = {
    Category.CENSUS: CensusRecordIn,
    Category.USAGE: UsageRecordIn,
    Category.ERROR: ErrorReportIn,
}


class TelemetryBatch(BaseModel):
    """The request body of POST /api/v1/telemetry, as documented (records are validated one by one)."""

    model_config = ConfigDict(extra="forbid")

    records: list[Annotated[RecordIn, Field(discriminator="category")]] = Field(max_length=MAX_RECORDS)


class Envelope(BaseModel):
    """The body as a whole: what makes a request fail (400) rather than a record be rejected."""

    model_config = ConfigDict(extra="forbid")

    records: list[Any] = Field(max_length=MAX_RECORDS)


# The fast path: the body parsed from bytes and every record validated in one pass of pydantic-core, no
# Python per field. A record that fails it is kept as parsed JSON and validated again on its own by
# `validate_record`, which words the rejection; a body that fails it as a whole (pydantic-core refuses
# some JSON that Python's json module reads, such as an escaped lone surrogate) takes the careful path
# (`Envelope`, then each record), so the answer is the same either way.
#
# A record of the fast path also keeps its id as the client spelled it: a result echoes it.
class FastCensusRecordIn(CensusRecordIn):
    id_as_sent: StrictStr = Field(validation_alias="id")


class FastUsageRecordIn(UsageRecordIn):
    id_as_sent: StrictStr = Field(validation_alias="id")


class FastErrorReportIn(ErrorReportIn):
    id_as_sent: StrictStr = Field(validation_alias="id")


FastRecordIn = FastCensusRecordIn | FastUsageRecordIn | FastErrorReportIn
FAST_RECORD_MODELS = (FastCensusRecordIn, FastUsageRecordIn, FastErrorReportIn)
_FastOrRaw = Annotated[
    Annotated[FastRecordIn, Field(discriminator="category")] | Any, Field(union_mode="left_to_right")
]


class _FastEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[_FastOrRaw] = Field(max_length=MAX_RECORDS)


def parse_batch(body: bytes) -> list | None:
    """The records of a request body in one pass: each a validated record (FastRecordIn) or, when it is
    not valid, its parsed JSON (for `validate_record`). None when the body must take the careful path."""
    try:
        return _FastEnvelope.model_validate_json(body).records
    except ValidationError:
        return None


# The responses. Views answer with these models (`json_response`), so what is sent is what the OpenAPI
# description says; fields left unset (a result's reason, a batch's errors) are left out of the JSON.


class RecordResult(BaseModel):
    id: str | None
    status: Outcome
    reason: str | None = None


class FieldError(BaseModel):
    pointer: str
    detail: str


class BatchResponse(BaseModel):
    accepted: int
    dropped: int
    rejected: int
    duplicates: int
    results: list[RecordResult]
    errors: list[FieldError] | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of the API answers."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None


class PolicyExplain(BaseModel):
    usage: str
    error_reporting: str
    meetings_app: str


class PolicyResponse(BaseModel):
    census: bool
    usage: bool
    error_reporting: bool
    meetings_app: bool
    explain: PolicyExplain


class PolicyQueryIn(BaseModel):
    """Body of POST /api/v1/policy: whose policy, and for which pool (both optional)."""

    model_config = ConfigDict(extra="forbid")

    user: _bounded_text(NAME) | None = None
    pool: OptionalFqdnText | None = None


class ErrorReportingBodyIn(BaseModel):
    """Body of PUT /api/v1/error-reporting: the user and their Options > General checkbox."""

    model_config = ConfigDict(extra="forbid")

    user: NameText
    opted_in: StrictBool


class ErrorReportingIn(BaseModel):
    """Body of PUT /api/v1/users/<user id>/error-reporting: the client's Options > General checkbox."""

    model_config = ConfigDict(extra="forbid")

    opted_in: StrictBool


class ErrorReportingResponse(BaseModel):
    user: str
    opted_in: bool


class LedgerEntry(BaseModel):
    day: dt.date
    category: str
    client: str
    outcome: Outcome
    reason: str
    records: int


UsageSums = create_model(
    "UsageSums",
    __module__=__name__,
    __doc__="Stored usage summed over a period, one sum per usage counter.",
    **{counter.name: (int, 0) for counter in USAGE_COUNTERS},
)


class CensusSums(BaseModel):
    """The installation's census in a period: census names no tenant, so these are every tenant's."""

    records: int = Field(description="Census records moved into the census table, by the day they are dated.")
    sign_in_attempts: int = Field(description="Their sign-in attempts, summed.")
    sign_in_failures: int = Field(description="Their sign-in failures, summed.")


class CountsResponse(BaseModel):
    """GET /portal/api/counts: a tenant's counts for a period (api.md)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    tenant: str
    date_from: dt.date = Field(alias="from")
    date_to: dt.date = Field(alias="to")
    ledger: list[LedgerEntry]
    usage: UsageSums
    error_reports: int
    scrubbed: int
    census: CensusSums | None = Field(
        default=None,
        description=(
            "Installation-wide, whatever the tenant asked for: present for support staff only, absent for a "
            "tenant admin. Counted when the maintenance (maintain_telemetry) moves staged census rows."
        ),
    )


def batch_response(*, results: list[dict], errors: list[tuple[str, str]]) -> BatchResponse:
    """The answer to a batch: the outcomes tallied, one result per record, field errors if any.

    A result is a dict of RecordResult's fields (a reason only where there is one): pydantic-core builds
    the models from them in one pass, and what a dict leaves out stays out of the JSON."""
    tally = collections.Counter(result["status"] for result in results)
    fields = {
        "accepted": tally[Outcome.ACCEPTED],
        "dropped": tally[Outcome.DROPPED],
        "rejected": tally[Outcome.REJECTED],
        "duplicates": tally[Outcome.DUPLICATE],
        "results": results,
    }
    if errors:
        fields["errors"] = [{"pointer": pointer, "detail": detail} for pointer, detail in errors]
    return BatchResponse.model_validate(fields)


# Validation of one record -------------------------------------------------------------------------


def json_pointer(*parts: object) -> str:
    """An RFC 6901 pointer; client-chosen field names are cut short so that echoing them stays small."""
    escaped = []
    for part in parts:
        text = echo(part) if isinstance(part, str) else str(part)
        escaped.append(text.replace("~", "~0").replace("/", "~1"))
    return "/" + "/".join(escaped)


def echo(value: object) -> str | None:
    """A client-chosen string, safe and short enough to send back; None for anything else."""
    if not isinstance(value, str):
        return None
    value = value[:ECHO_LIMIT]
    return value.encode("utf-8", "replace").decode("utf-8")


def describe_errors(error: ValidationError) -> list[tuple[tuple, str]]:
    """(location, message) of each problem. Messages never carry the input value (it may be personal)."""
    described = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        message = item["msg"]
        if item["type"] == "string_pattern_mismatch":
            message = NO_NUL_MESSAGE
        elif message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        described.append((tuple(item["loc"]), message))
    return described


@dataclass(frozen=True)
class Rejection:
    """Why one record was rejected, and where it counts in the ledger."""

    id: str | None
    reason: str
    errors: list[tuple[str, str]]  # (pointer, detail)
    category: str
    client: str
    day: dt.date | None  # None: no valid timestamp, counted on the day it arrived


class _TimestampOnly(BaseModel):
    timestamp: Timestamp


def _ledger_day(raw: dict) -> dt.date | None:
    try:
        return _TimestampOnly.model_validate({"timestamp": raw.get("timestamp")}).timestamp.date()
    except ValidationError:
        return None


def reject(*, raw: object, index: int, problems: list[tuple[tuple, str]]) -> Rejection:
    """A Rejection from (location inside the record, message) pairs."""
    errors = [(json_pointer("records", index, *location), message) for location, message in problems]
    first_location, first_message = problems[0]
    field = ".".join(echo(p) if isinstance(p, str) else str(p) for p in first_location) or "record"
    reason = f"{field}: {first_message}"
    if len(problems) > 1:
        reason += f" (and {len(problems) - 1} more)"
    if isinstance(raw, FAST_RECORD_MODELS):  # valid on its own, refused by what the batch's tenant has
        return Rejection(
            id=echo(raw.id_as_sent),
            reason=reason,
            errors=errors,
            category=raw.category,
            client=raw.client.value,
            day=raw.timestamp.date(),
        )
    if isinstance(raw, dict):
        category = raw.get("category")
        client = raw.get("client")
        return Rejection(
            id=echo(raw.get("id")),
            reason=reason,
            errors=errors,
            category=category if isinstance(category, str) and category in Category.values else UNKNOWN,
            client=client if isinstance(client, str) and client in Client.values else UNKNOWN,
            day=_ledger_day(raw),
        )
    return Rejection(id=None, reason=reason, errors=errors, category=UNKNOWN, client=UNKNOWN, day=None)


def validate_record(raw: object, *, index: int) -> RecordIn | Rejection:
    """One record of a batch, validated on its own: the model, or why it was rejected."""
    if not isinstance(raw, dict):
        return reject(raw=raw, index=index, problems=[((), "a record must be a JSON object")])
    category = raw.get("category")
    model = RECORD_MODELS.get(category) if isinstance(category, str) else None
    if model is None:
        return reject(raw=raw, index=index, problems=[(("category",), "must be one of census, usage, error")])
    if model is UsageRecordIn:
        identifying = [name for name in USAGE_IDENTIFYING_FIELDS if name in raw]
        if identifying:
            return reject(raw=raw, index=index, problems=[((name,), USAGE_IDENTIFIES_USER) for name in identifying])
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        return reject(raw=raw, index=index, problems=describe_errors(error))


# The OpenAPI description --------------------------------------------------------------------------


def _json_body(schema_name: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}


def _problem_responses(*statuses: int) -> dict:
    descriptions = {
        400: "Not JSON, not an object, no records list, more than 1000 records, or a malformed field",
        401: "Missing, unknown or revoked ingestion key",
        404: "No such pool in this tenant",
        413: f"Body over {MAX_BODY_BYTES} bytes",
        415: "Not application/json",
        429: "The tenant's rate limit is reached (see Retry-After)",
        503: "Storage failed; nothing was kept, retrying the same batch is safe (see Retry-After)",
    }
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {str(status): {"description": descriptions[status], "content": problem} for status in statuses}


def openapi_document() -> dict:
    """OpenAPI 3.1 of the client endpoints, generated from the models above (so it cannot drift)."""
    _, definitions = models_json_schema(
        [
            (TelemetryBatch, "validation"),
            (BatchResponse, "serialization"),
            (Problem, "serialization"),
            (PolicyResponse, "serialization"),
            (ErrorReportingIn, "validation"),
            (ErrorReportingBodyIn, "validation"),
            (PolicyQueryIn, "validation"),
            (ErrorReportingResponse, "serialization"),
        ],
        ref_template="#/components/schemas/{model}",
    )
    bearer = [{"ingestionKey": []}]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Telemetry portal client API", "version": "1"},
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"ingestionKey": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/api/v1/telemetry": {
                "post": {
                    "summary": "Submit a batch of records",
                    "security": bearer,
                    "requestBody": {"required": True, **_json_body("TelemetryBatch")},
                    "responses": {
                        "200": {
                            "description": "One result per record, in request order",
                            **_json_body("BatchResponse"),
                        },
                        **_problem_responses(400, 401, 413, 415, 429, 503),
                    },
                }
            },
            "/api/v1/policy": {
                "get": {
                    "summary": "The effective policy for a client",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "user",
                            "in": "query",
                            "required": False,
                            "deprecated": True,
                            "description": "Deprecated: proxies log URLs. POST the user in the body instead.",
                            "schema": {"type": "string"},
                        },
                        {"name": "pool", "in": "query", "required": False, "schema": {"type": "string"}},
                    ],
                    "responses": {
                        "200": {"description": "The policy and why", **_json_body("PolicyResponse")},
                        **_problem_responses(400, 401, 404, 429),
                    },
                },
                "post": {
                    "summary": "The effective policy for a client, the user named in the body",
                    "security": bearer,
                    "requestBody": {"required": True, **_json_body("PolicyQueryIn")},
                    "responses": {
                        "200": {"description": "The policy and why", **_json_body("PolicyResponse")},
                        **_problem_responses(400, 401, 404, 415, 429),
                    },
                },
            },
            "/api/v1/error-reporting": {
                "put": {
                    "summary": "The end user's own error-reporting opt-in",
                    "security": bearer,
                    "requestBody": {"required": True, **_json_body("ErrorReportingBodyIn")},
                    "responses": {
                        "200": {"description": "The opt-in as stored", **_json_body("ErrorReportingResponse")},
                        **_problem_responses(400, 401, 415, 429),
                    },
                }
            },
            "/api/v1/users/{user_id}/error-reporting": {
                "put": {
                    "summary": "The end user's own error-reporting opt-in (deprecated: the user ID is in the URL)",
                    "deprecated": True,
                    "security": bearer,
                    "parameters": [{"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "requestBody": {"required": True, **_json_body("ErrorReportingIn")},
                    "responses": {
                        "200": {"description": "The opt-in as stored", **_json_body("ErrorReportingResponse")},
                        **_problem_responses(400, 401, 415, 429),
                    },
                }
            },
        },
    }

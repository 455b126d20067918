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
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

import msgspec
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


def utc_timestamp(value: str) -> dt.datetime | None:
    """An RFC 3339 date-time with a time zone, as UTC; None if it is not one."""
    if not RFC3339_RE.match(value):
        return None
    try:
        return dt.datetime.fromisoformat(value.upper()).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        return None


def _timestamp(value: Any) -> dt.datetime:
    """RFC 3339 with a time zone, as UTC, at most MAX_FUTURE ahead of the portal's clock. One Python
    call per record: the pattern, then the parse."""
    timestamp = utc_timestamp(value) if isinstance(value, str) else None
    if timestamp is None:
        raise ValueError(TIMESTAMP_MESSAGE)
    if timestamp > dt.datetime.now(dt.UTC) + MAX_FUTURE:
        raise ValueError(FUTURE_MESSAGE)
    return timestamp


PARTNER_MESSAGE = "must be an organization's domain name, like contoso.com"


def _valid_partner(value: str) -> bool:
    """An organization's domain name, or none: stored in cleartext (domain.md), so it must name no person.

    An e-mail address, a SIP URI or an IP address is refused, and so is anything else that is not a
    domain name. Checked in its stored (lower-case) form, which is also what bounds its length."""
    return not value or _is_partner(value)


def _federation_partner(value: str) -> str:
    if not _valid_partner(value):
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


# The fast path: the body parsed from bytes by msgspec (C), each record decoded on its own into a Struct
# that mirrors its pydantic model above, no Python per field. A record the fast path refuses for any
# reason is kept as parsed JSON and validated again by `validate_record`, which decides and words it; so
# the fast path may refuse more than the models do, never less, and what it accepts has the very values
# the models would give (tests/telemetry/test_fast_path.py compares the two paths on generated batches).
# A body it cannot read as a whole takes the careful path (`Envelope`, then each record).
#
# What the Structs leave to code, where msgspec's rules differ from the models': the record's id and
# timestamp arrive as strings (the id is echoed as sent) and are converted for the whole batch in one
# call each, the timestamp once it matches the models' pattern; NUL is looked for only where the body
# holds one (below). A fast record also carries `id` (UUID), `timestamp` (UTC) and `day` once converted.
#
# A JSON string holds NUL only as this escape; a body without it needs no NUL check per string.
_NUL_ESCAPE = b"\\u0000"
# Deeper than this, a record the fast path refuses is left with its whole body to the careful path,
# whose json.loads meets Python's recursion limit where a record's own parse might not.
_FALLBACK_MAX_BRACKETS = 256


def _text(max_length: int, *, min_length: int = 0, pattern: str | None = None) -> Any:
    return Annotated[str, msgspec.Meta(min_length=min_length, max_length=max_length, pattern=pattern)]


_FastCounter = Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNTER)]
_FAST_IPV4 = rf"^{DOTTED_IPV4_RE.pattern}\Z"
# RFC3339_RE's ASCII part, at most microseconds: where msgspec's parse of a date-time agrees with
# `utc_timestamp` (it rounds more digits, Python cuts them), or refuses what Python would take. Checked
# for the whole batch at once: the timestamps joined by a separator that none of them holds.
_FAST_TIMESTAMP = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_FAST_TIMESTAMP_RE = re.compile(_FAST_TIMESTAMP)
_FAST_TIMESTAMPS_RE = re.compile(rf"(?:{_FAST_TIMESTAMP}\n)*{_FAST_TIMESTAMP}")


# Plain strings, not the enums: an enum's value is a Python property, read per record downstream.
_FastClient = Literal[tuple(Client.values)]
_FastMessageDirection = Literal[tuple(MessageDirection.values)]


class _FastRecord(msgspec.Struct, tag_field="category", forbid_unknown_fields=True, kw_only=True, dict=True):
    id_as_sent: str = msgspec.field(name="id")
    client: _FastClient
    timestamp_as_sent: str = msgspec.field(name="timestamp")


class FastCensusRecordIn(_FastRecord, tag=Category.CENSUS.value):
    category: ClassVar[str] = Category.CENSUS.value
    app_name: _text(SHORT, min_length=1)
    device_model: _text(NAME, min_length=1)
    os_name: _text(SHORT, min_length=1)
    os_version: _text(SHORT, min_length=1)
    user_language: _text(SHORT, min_length=1)
    user_id: _text(NAME, min_length=1)
    device_id: UUID
    sign_in_attempts: _FastCounter = 0
    sign_in_failures: _FastCounter = 0


FastUsageRecordIn = msgspec.defstruct(
    "FastUsageRecordIn",
    [
        ("pool", _text(FQDN, min_length=1)),
        ("federation_partner", _text(FQDN), ""),
        *((counter.name, _FastCounter, 0) for counter in USAGE_COUNTERS),
    ],
    bases=(_FastRecord,),
    module=__name__,
    namespace={"category": Category.USAGE.value, "__doc__": "The fast path's UsageRecordIn."},
    tag=Category.USAGE.value,
    kw_only=True,
)


class FastErrorReportIn(_FastRecord, tag=Category.ERROR.value):
    category: ClassVar[str] = Category.ERROR.value
    pool: _text(FQDN, min_length=1)
    user_id: _text(NAME, min_length=1)
    message_direction: _FastMessageDirection
    conversation_state: _text(SHORT, min_length=1)
    error_code: _text(NAME, min_length=1)
    conversation_thread_id: _text(THREAD_ID) = ""
    error_log: _text(ERROR_LOG) = ""
    # The models' common case only (a dotted IPv4 address as sent); any other address is theirs to judge.
    ip_address: _text(SHORT, pattern=_FAST_IPV4) | None = None
    sip_uri: _text(FQDN) | None = None
    os_name: _text(SHORT) = ""
    crash: bool = False

    @property
    def windows_crash(self) -> bool:
        return self.crash and self.os_name.strip().casefold() == "windows"


FAST_RECORD_MODELS = (FastCensusRecordIn, FastUsageRecordIn, FastErrorReportIn)


class _FastEnvelope(msgspec.Struct, forbid_unknown_fields=True):
    records: list[msgspec.Raw]


_ENVELOPE_DECODER = msgspec.json.Decoder(_FastEnvelope)
_RECORD_DECODER = msgspec.json.Decoder(FastCensusRecordIn | FastUsageRecordIn | FastErrorReportIn)


def parse_batch(body: bytes) -> list | None:
    """The records of a request body: each a validated record (FAST_RECORD_MODELS) or, when the fast
    path does not take it, its parsed JSON (for `validate_record`). None when the body must take the
    careful path."""
    try:
        raws = _ENVELOPE_DECODER.decode(body).records
    except msgspec.MsgspecError:
        return None
    if len(raws) > MAX_RECORDS:
        return None
    records: list = []
    decode = _RECORD_DECODER.decode
    for raw in raws:
        try:
            records.append(decode(raw))
        except msgspec.MsgspecError:
            records.append(None)
    if _NUL_ESCAPE in body:  # rare: only then is each record's own text searched for NUL
        for index, raw in enumerate(raws):
            if _NUL_ESCAPE in bytes(raw):
                records[index] = None
    _complete(records)
    for index, record in enumerate(records):
        if record is None:
            text = bytes(raws[index])
            if text.count(b"[") + text.count(b"{") > _FALLBACK_MAX_BRACKETS:
                return None
            try:
                records[index] = json.loads(text.decode("utf-8"))
            except (ValueError, RecursionError):
                return None
    return records


def _complete(records: list) -> None:
    """Give each fast record its id (UUID), timestamp (UTC) and day, or replace it by None where the
    models would not take it as it is: an id or a timestamp they refuse or would read otherwise, a
    timestamp ahead of the clock, a federation partner that is not a domain name."""
    fast = [record for record in records if record is not None]
    # msgspec reads a UUID's canonical and 32-digit spellings, in any case, as pydantic does, and no other.
    ids = _convert_each([record.id_as_sent for record in fast], UUID)
    timestamps = _convert_each(_fast_timestamps([record.timestamp_as_sent for record in fast]), dt.datetime)
    # Once per batch: a record the fast path takes is not ahead of the clock of any later check.
    latest = dt.datetime.now(dt.UTC) + MAX_FUTURE
    refused = set()
    for record, record_id, parsed in zip(fast, ids, timestamps, strict=True):
        timestamp = parsed
        if timestamp is not None and timestamp.tzinfo is not dt.UTC:
            try:
                timestamp = timestamp.astimezone(dt.UTC)
            except OverflowError:
                timestamp = None
        if (
            record_id is None
            or timestamp is None
            or timestamp > latest
            or (record.category == Category.USAGE and not _valid_partner(record.federation_partner))
        ):
            refused.add(id(record))
            continue
        record.id = record_id
        record.timestamp = timestamp
        record.day = timestamp.date()
    if refused:
        records[:] = [None if id(record) in refused else record for record in records]


def _fast_timestamps(values: list[str]) -> list[str | None]:
    """The timestamps the fast path may convert, None for any other: all of them in one match where
    they all qualify (the common case), else one by one."""
    joined = "\n".join(values)
    if joined.count("\n") == len(values) - 1 and _FAST_TIMESTAMPS_RE.fullmatch(joined):
        return values
    return [value if _FAST_TIMESTAMP_RE.fullmatch(value) else None for value in values]


def _convert_each(values: list[str | None], to: type) -> list:
    """msgspec's conversion of strings to `to` (UUID, datetime), None for each that fails or is None."""
    try:
        return msgspec.convert(values, list[to])
    except msgspec.ValidationError:
        converted = []
        for value in values:
            try:
                converted.append(None if value is None else msgspec.convert(value, to))
            except msgspec.ValidationError:
                converted.append(None)
        return converted


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


@dataclass(frozen=True)
class BatchAnswer:
    """The answer to a batch: one result per record, as a dict of RecordResult's fields (a reason only
    where there is one), and the field errors if any. The view sends `json()` as it is; `response()` is the
    same answer as a BatchResponse, for callers that read it.

    `json()` writes with msgspec, what `response()` would write with pydantic, byte for byte
    (tests/telemetry/test_response_shapes.py): building a thousand result models costs more than the rest
    of the answer."""

    results: list[dict]
    errors: list[tuple[str, str]]

    def fields(self) -> dict:
        tally = collections.Counter(result["status"] for result in self.results)
        fields = {
            "accepted": tally[Outcome.ACCEPTED],
            "dropped": tally[Outcome.DROPPED],
            "rejected": tally[Outcome.REJECTED],
            "duplicates": tally[Outcome.DUPLICATE],
            "results": self.results,
        }
        if self.errors:
            fields["errors"] = [{"pointer": pointer, "detail": detail} for pointer, detail in self.errors]
        return fields

    def response(self) -> BatchResponse:
        return BatchResponse.model_validate(self.fields())

    def json(self) -> bytes:
        return _ANSWER_ENCODER.encode(self.fields())


_ANSWER_ENCODER = msgspec.json.Encoder()


def batch_response(*, results: list[dict], errors: list[tuple[str, str]]) -> BatchResponse:
    """The answer to a batch as a BatchResponse (see BatchAnswer)."""
    return BatchAnswer(results=results, errors=errors).response()


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
            client=raw.client,
            day=raw.day,
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

"""Ingestion: a tenant's batch of records validated, decided, pseudonymized, stored and counted.

`ingest_batch` is the one way records enter the database (the API and `seed_demo` both call it).
It reads the facts the decision needs in a constant number of queries, asks `telemetry.policy.decide`
about every valid record, and stores the batch all-or-nothing in one transaction.
"""

import collections
import datetime as dt
import operator
import os
from dataclasses import dataclass, field
from uuid import UUID

import msgspec
from django.conf import settings
from django.db import connection, transaction

from telemetry.models import ErrorReport, utc_today
from telemetry.names import fqdn_key
from telemetry.partitions import ensure_batch_partitions
from telemetry.policy import Decision, MeetingUxSetting, TenantPolicy, decide
from telemetry.pseudonymize import BatchHasher, truncate_ip, user_pseudonyms
from telemetry.records import (
    ERROR_COLUMNS,
    ERROR_LOG,
    NAME,
    SHORT,
    TENANT_RECORD_COLUMNS,
    THREAD_ID,
    USAGE_COLUMNS,
    USAGE_COUNTER_NAMES,
    oldest_kept_day,
)
from telemetry.schemas import (
    FAST_RECORD_MODELS,
    BatchAnswer,
    BatchResponse,
    CensusRecordIn,
    ErrorReportIn,
    FastCensusRecordIn,
    FastErrorReportIn,
    FastUsageRecordIn,
    Rejection,
    UsageRecordIn,
    echo,
    reject,
    validate_record,
)
from telemetry.scrub import scrub_texts
from telemetry.storage import (
    ERROR_CODES,
    FEDERATION_PARTNERS,
    LEDGER,
    SCRUBBED,
    USAGE_SUMS,
    Counts,
    array_literal,
    storage_for_connection,
)
from telemetry.vocabulary import INVALID_REASON, MEETING_CLIENTS, Category, DropReason, Outcome, scope_identity
from tenants.locks import policy_lock
from tenants.models import AuditLogEntry, EndUser, Pool, Site, Tenant, WebServiceConfiguration
from tenants.selectors import end_user_find, meeting_ux_configurations, pool_meeting_ux
from tenants.services import (
    CLIENT_ACTOR,
    Actor,
    end_user_delete,
    end_user_set_error_reporting,
    erasure_receipt_write,
)

POOL_UNKNOWN = "is not a pool of this tenant"
# Plain strings, read once: the hot path compares and stores them per record, and an enum member's value
# is a Python property.
CENSUS, USAGE, ERROR = Category.CENSUS.value, Category.USAGE.value, Category.ERROR.value
_EXPIRED = DropReason.EXPIRED
ACCEPTED, DROPPED, REJECTED, DUPLICATE = (
    Outcome.ACCEPTED.value,
    Outcome.DROPPED.value,
    Outcome.REJECTED.value,
    Outcome.DUPLICATE.value,
)
_MEETING_CLIENTS = frozenset(client.value for client in MEETING_CLIENTS)
_FAST_TYPES = frozenset(FAST_RECORD_MODELS)


@dataclass(slots=True)
class _Candidate:
    """A valid record of the batch, waiting for its decision and its receipt. Made positionally, once per
    record: keyword arguments cost three times as much."""

    index: int
    record: FastCensusRecordIn | FastUsageRecordIn | FastErrorReportIn | CensusRecordIn | UsageRecordIn | ErrorReportIn
    echo_id: str | None
    day: dt.date
    client: str  # the record's client as stored: a plain string (an enum's value is read in Python)
    pool: Pool | None
    pool_id: int | None
    # An error report's user: the pseudonym stored (current key) and every one an opt-in may be kept under.
    user_hash: str = ""
    user_pseudonyms: tuple[str, ...] = ()


@dataclass
class _Batch:
    """A batch after validation, before any decision: what can be known without the tenant's policy."""

    outcomes: list  # per record: its result (RecordResult's fields) when final, or a _Candidate waiting for it
    candidates: list[_Candidate]
    errors: list[tuple[str, str]]
    counts: Counts
    hasher: BatchHasher  # the batch's pseudonyms, each identifier hashed once


@dataclass
class _Facts:
    """Everything the decision needs about one tenant, read once per batch under the policy lock."""

    policy: TenantPolicy
    configurations: dict[str, bool]
    opted_in: set[str]
    # Per category, the oldest day a record may have without being expired (lifecycle.md, "Retention").
    oldest_kept: dict[str, dt.date]
    meeting_ux: dict[int, MeetingUxSetting] = field(default_factory=dict)  # by pool id, resolved once
    decisions: dict[tuple, Decision] = field(default_factory=dict)  # by what decide() is told (_decide)

    def meeting_ux_of(self, pool: Pool) -> MeetingUxSetting:
        setting = self.meeting_ux.get(pool.pk)
        if setting is None:
            setting = self.meeting_ux[pool.pk] = pool_meeting_ux(pool=pool, configurations=self.configurations)
        return setting


def _validate(*, tenant: Tenant, records: list) -> _Batch:
    """Validate every record, find its pool, pseudonymize its user; nothing is read of the policy.

    A record may arrive validated already (the API's fast path, `parse_batch`); any other is parsed JSON."""
    arrival_day = dt.datetime.now(dt.UTC).date()
    # Exact types (no record model is subclassed further): cheaper per record than isinstance() on a union.
    validated = [
        raw if type(raw) in _FAST_TYPES else validate_record(raw, index=index) for index, raw in enumerate(records)
    ]
    # Each pool name as sent, to its pool (None: not one of the tenant's): one look-up per distinct spelling.
    pool_of: dict[str, Pool | None] = {
        item.pool: None for item in validated if type(item) is not Rejection and item.category != CENSUS
    }
    if pool_of:
        # Pools are never deleted, so they can be read before the transaction.
        keys = {fqdn_key(name) for name in pool_of}
        pools = {p.fqdn: p for p in Pool.objects.filter(tenant=tenant, fqdn__in=keys).select_related("site")}
        pool_of = {name: pools.get(fqdn_key(name)) for name in pool_of}
    hasher = BatchHasher(tenant_id=tenant.pk)
    batch = _Batch(outcomes=[], candidates=[], errors=[], counts=Counts(), hasher=hasher)
    outcomes, candidates = batch.outcomes, batch.candidates
    seen: set[int] = set()
    for index, validated_item in enumerate(validated):
        item, pool = validated_item, None
        kind = type(item)
        if kind is not Rejection and item.category != CENSUS:
            pool = pool_of[item.pool]
            if pool is None:
                item = reject(raw=records[index], index=index, problems=[(("pool",), POOL_UNKNOWN)])
                kind = Rejection
        if kind is Rejection:
            batch.errors.extend(item.errors)
            outcomes.append({"id": item.id, "status": REJECTED, "reason": item.reason})
            batch.counts.add(LEDGER, (item.day or arrival_day, item.category, item.client, REJECTED, INVALID_REASON))
            continue
        if kind in _FAST_TYPES:
            # A fast record's id is a UUID as msgspec reads one: 32 or 36 ASCII characters, as echo() keeps them.
            echo_id, day, client = item.id_as_sent, item.day, item.client
        else:
            echo_id, day, client = echo(records[index].get("id")), item.timestamp.date(), item.client.value
        record_key = item.id.int  # a UUID hashes in Python, its int in C
        if record_key in seen:
            outcomes.append({"id": echo_id, "status": DUPLICATE})
            batch.counts.add(LEDGER, (day, item.category, client, DUPLICATE, ""))
            continue
        seen.add(record_key)
        candidate = _Candidate(index, item, echo_id, day, client, pool, pool.id if pool is not None else None)
        if item.category == ERROR:
            candidate.user_pseudonyms = hashes = hasher.user_pseudonyms(item.user_id)
            candidate.user_hash = hashes[0]
        candidates.append(candidate)
        outcomes.append(candidate)
    return batch


_TENANT_FACTS = (
    "disable_automatic_send_tracing",
    "watson_enabled",
    "usage_retention_days",
    "error_report_retention_days",
)


def _read_facts_postgresql(
    *, tenant_id: int, user_hashes: list[str], with_configurations: bool
) -> tuple[dict, set[str], dict[str, bool]]:
    """PostgreSQL: the tenant's row, which of the batch's users opted in and, when asked, the tenant's
    Meetings App configurations, in one statement (one round trip, no ORM per batch)."""
    tables = {
        "tenant": Tenant._meta.db_table,
        "end_user": EndUser._meta.db_table,
        "configuration": WebServiceConfiguration._meta.db_table,
        "site": Site._meta.db_table,
        "pool": Pool._meta.db_table,
    }
    # The names of our own tables and columns; the values travel as parameters. The subqueries name the
    # tenant as a parameter, not as t.id: Citus refuses a correlated subquery beside a reference table.
    sql = (
        f"SELECT {', '.join(f't.{column}' for column in _TENANT_FACTS)}, "  # noqa: S608
        f"ARRAY(SELECT u.user_hash FROM {tables['end_user']} u WHERE u.tenant_id = %s "
        "AND u.error_reporting_opted_in AND u.user_hash = ANY(%s::text[])), "
        "CASE WHEN %s THEN (SELECT coalesce(json_agg(json_build_array(c.scope, s.name, p.fqdn, "
        f"c.meeting_ux_enable_telemetry)), '[]') FROM {tables['configuration']} c "
        f"LEFT JOIN {tables['site']} s ON s.id = c.site_id LEFT JOIN {tables['pool']} p ON p.id = c.pool_id "
        f"WHERE c.tenant_id = %s) END FROM {tables['tenant']} t WHERE t.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, array_literal(user_hashes), with_configurations, tenant_id, tenant_id])
        *values, opted_in, configurations = cursor.fetchone()
    return (
        dict(zip(_TENANT_FACTS, values, strict=True)),
        set(opted_in),
        {
            scope_identity(scope, site_name=site_name, pool_fqdn=pool_fqdn): enabled
            for scope, site_name, pool_fqdn, enabled in configurations or ()
        },
    )


def _read_facts_orm(
    *, tenant: Tenant, user_hashes: list[str], with_configurations: bool
) -> tuple[dict, set[str], dict[str, bool]]:
    """Any other database: the same facts in three queries at most."""
    tenant_row = Tenant.objects.all_tenants().filter(pk=tenant.pk).values(*_TENANT_FACTS).get()
    opted_in = set()
    if user_hashes:
        opted_in = set(
            EndUser.objects.filter(tenant=tenant, user_hash__in=user_hashes, error_reporting_opted_in=True).values_list(
                "user_hash", flat=True
            )
        )
    configurations = meeting_ux_configurations(tenant=tenant) if with_configurations else {}
    return tenant_row, opted_in, configurations


def _gather_facts(*, tenant: Tenant, batch: _Batch) -> _Facts:
    """The tenant's policy and retentions, Meetings App configurations and the batch's opted-in users
    (one statement on PostgreSQL, 3 queries at most elsewhere).

    Read inside the batch's transaction under the shared policy lock, so they are the facts in force
    when the batch commits (tenants/locks.py)."""
    user_hashes = sorted({pseudonym for c in batch.candidates for pseudonym in c.user_pseudonyms})
    with_configurations = any(c.pool is not None and c.client in _MEETING_CLIENTS for c in batch.candidates)
    if connection.vendor == "postgresql":
        tenant_row, opted_in, configurations = _read_facts_postgresql(
            tenant_id=tenant.pk, user_hashes=user_hashes, with_configurations=with_configurations
        )
    else:
        tenant_row, opted_in, configurations = _read_facts_orm(
            tenant=tenant, user_hashes=user_hashes, with_configurations=with_configurations
        )
    policy = TenantPolicy(
        disable_automatic_send_tracing=tenant_row["disable_automatic_send_tracing"],
        watson_enabled=tenant_row["watson_enabled"],
    )
    today = utc_today()
    retention_days = {
        Category.CENSUS: settings.TELEMETRY_CENSUS_RETENTION_DAYS,
        Category.USAGE: tenant_row["usage_retention_days"],
        Category.ERROR: tenant_row["error_report_retention_days"],
    }
    oldest_kept = {
        category: oldest_kept_day(today=today, retention_days=days) for category, days in retention_days.items()
    }
    return _Facts(policy=policy, configurations=configurations, opted_in=opted_in, oldest_kept=oldest_kept)


def _decide(candidate: _Candidate, facts: _Facts) -> Decision:
    """policy.decide on the facts of one record: asked once per distinct set of facts in the batch (the
    decision is a pure function of them), so a batch of a thousand records asks it a few dozen times."""
    record = candidate.record
    category = record.category
    meeting_pool = candidate.pool if candidate.client in _MEETING_CLIENTS else None  # census has no pool
    if category == ERROR:
        opted_in = not facts.opted_in.isdisjoint(candidate.user_pseudonyms)
        windows_crash = record.windows_crash
    else:
        opted_in = windows_crash = False
    expired = candidate.day < facts.oldest_kept[category]
    # Plain strings and ints: enum members and models hash in Python.
    key = (
        category,
        candidate.client,
        candidate.pool_id if meeting_pool is not None else None,
        opted_in,
        windows_crash,
        expired,
    )
    decision = facts.decisions.get(key)
    if decision is None:
        decision = facts.decisions[key] = decide(
            category=category,
            client=candidate.client,
            tenant_policy=facts.policy,
            meeting_ux=facts.meeting_ux_of(meeting_pool) if meeting_pool is not None else None,
            user_opted_in=opted_in,
            windows_crash=windows_crash,
            expired=expired,
        )
    return decision


def _random_uuids(count: int) -> list[UUID]:
    """`count` random UUIDs, as uuid4() makes them (version 4, RFC 4122 variant), in a few calls into C
    rather than a Python constructor each."""
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(byte & 0x0F | 0x40 for byte in raw[6::16])
    raw[8::16] = bytes(byte & 0x3F | 0x80 for byte in raw[8::16])
    text = raw.hex()
    return msgspec.convert([text[start : start + 32] for start in range(0, len(text), 32)], list[UUID])


class _Pseudonymizer:
    """The stored form of accepted records: identifiers hashed (once per distinct value of the batch), IP
    addresses cut to their network, free text scrubbed, a census row's own random id."""

    def __init__(self, *, tenant_id: int, hasher: BatchHasher, census_rows: int):
        self.tenant_id = tenant_id
        self.hasher = hasher
        self.partners: dict[str, str] = {}
        self.census_ids = iter(_random_uuids(census_rows))
        self.scrubbed: dict[dt.date, int] = {}  # per day, the replacements that scrubbing made

    def census_row(self, candidate: _Candidate) -> tuple:
        record = candidate.record
        return (
            next(self.census_ids),
            candidate.day,
            record.timestamp,
            candidate.client,
            record.app_name,
            record.device_model,
            record.os_name,
            record.os_version,
            record.user_language,
            self.hasher.census_user_id(record.user_id),
            record.device_id,
            record.sign_in_attempts,
            record.sign_in_failures,
        )

    def usage_row(self, candidate: _Candidate) -> tuple:
        record = candidate.record
        partner = self.partners.get(record.federation_partner)
        if partner is None:
            partner = self.partners[record.federation_partner] = fqdn_key(record.federation_partner)
        # TENANT_RECORD_COLUMNS (telemetry/records.py), then the usage columns.
        return (
            self.tenant_id,
            candidate.pool_id,
            record.id,
            candidate.day,
            record.timestamp,
            candidate.client,
            *_usage_values(record),
            partner,
        )

    def error_row(self, candidate: _Candidate) -> tuple:
        record = candidate.record
        texts, replaced = scrub_texts(
            [record.conversation_state, record.conversation_thread_id, record.error_code, record.error_log],
            tenant_id=self.tenant_id,
            user_id=record.user_id,
            user_pseudonym=candidate.user_hash,
        )
        # Bounds hold after scrubbing and normalization too: a marker or NFKC may lengthen a text, and a
        # value longer than its column would fail the whole batch on every retry.
        state, thread_id, error_code, error_log = (
            text[:limit] for text, limit in zip(texts, (SHORT, THREAD_ID, NAME, ERROR_LOG), strict=True)
        )
        if replaced:
            self.scrubbed[candidate.day] = self.scrubbed.get(candidate.day, 0) + replaced
        direction = record.message_direction
        # TENANT_RECORD_COLUMNS (telemetry/records.py), then the error report's columns.
        return (
            self.tenant_id,
            candidate.pool_id,
            record.id,
            candidate.day,
            record.timestamp,
            candidate.client,
            candidate.user_hash,
            direction if type(direction) is str else direction.value,
            state,
            thread_id,
            error_code,
            error_log,
            truncate_ip(record.ip_address) if record.ip_address else "",
            self.hasher.sip_uri(record.sip_uri) if record.sip_uri else "",
            record.os_name,
            record.crash,
        )


# A usage record's counters, in the order of USAGE_COUNTER_NAMES.
_usage_values = operator.attrgetter(*USAGE_COUNTER_NAMES)

# Where the count tables' keys and values sit in a stored row (telemetry/records.py, the columns).
_DAY = TENANT_RECORD_COLUMNS.index("day")
_POOL_ID = TENANT_RECORD_COLUMNS.index("pool_id")
_USAGE_COUNTERS = slice(USAGE_COLUMNS.index(USAGE_COUNTER_NAMES[0]), USAGE_COLUMNS.index(USAGE_COUNTER_NAMES[-1]) + 1)
_PARTNER = USAGE_COLUMNS.index("federation_partner")
_ERROR_CODE = ERROR_COLUMNS.index("error_code")


def _count_rows(*, counts: Counts, rows: dict[str, list[tuple]], scrubbed: dict[dt.date, int]) -> None:
    """What the stored rows add to the count tables: read from the rows, once per key, not per record."""
    usage_rows: dict[tuple, list[tuple]] = {}
    for row in rows[USAGE]:
        key = (row[_POOL_ID], row[_DAY])
        group = usage_rows.get(key)
        if group is None:
            usage_rows[key] = [row[_USAGE_COUNTERS]]
        else:
            group.append(row[_USAGE_COUNTERS])
    for key, group in usage_rows.items():
        counts.add(USAGE_SUMS, key, (len(group), *map(sum, zip(*group, strict=True))))
    # collections.Counter counts an iterable in C.
    partners = collections.Counter((row[_DAY], row[_PARTNER]) for row in rows[USAGE] if row[_PARTNER])
    for key, records in partners.items():
        counts.add(FEDERATION_PARTNERS, key, (records,))
    for key, records in collections.Counter((row[_DAY], row[_ERROR_CODE]) for row in rows[ERROR]).items():
        counts.add(ERROR_CODES, key, (records,))
    for day, replaced in scrubbed.items():
        counts.add(SCRUBBED, (day,), (replaced,))


def _store(*, tenant: Tenant, batch: _Batch, facts: _Facts) -> None:
    """Decide every candidate, then write receipts, records and counts (inside the caller's transaction).

    Only records that policy allows and whose id is new are pseudonymized: the cost of a dropped or
    duplicate record is its validation."""
    storage = storage_for_connection()
    candidates = batch.candidates
    decisions = [_decide(candidate, facts) for candidate in candidates]
    # Receipts are keyed by the record's day; an expired record gets none (sent again, it is expired
    # again, and its day's partition may be gone).
    keys = [(c.record.id, c.day) for c, d in zip(candidates, decisions, strict=True) if d.reason is not _EXPIRED]
    claimed = storage.claim(tenant_id=tenant.pk, keys=keys)
    # Usually every id is new (a batch holds each once): then none needs looking up.
    new_ids = None
    if len(claimed) < len(keys):
        new_ids = {c.record.id.int for c, d in zip(candidates, decisions, strict=True) if d.reason is _EXPIRED}
        new_ids.update(record_id.int for record_id in claimed)
    rows: dict[str, list[tuple]] = {CENSUS: [], USAGE: [], ERROR: []}
    pseudonymizer = _Pseudonymizer(
        tenant_id=tenant.pk, hasher=batch.hasher, census_rows=sum(1 for c in candidates if c.record.category == CENSUS)
    )
    build = {CENSUS: pseudonymizer.census_row, USAGE: pseudonymizer.usage_row, ERROR: pseudonymizer.error_row}
    outcomes = batch.outcomes
    ledger = []  # per candidate its ledger key, counted once per key below
    for candidate, decision in zip(candidates, decisions, strict=True):
        record = candidate.record
        category = record.category
        if new_ids is not None and record.id.int not in new_ids:
            outcome, reason = DUPLICATE, ""
            outcomes[candidate.index] = {"id": candidate.echo_id, "status": outcome}
        elif decision.stored:
            outcome, reason = ACCEPTED, ""
            rows[category].append(build[category](candidate))
            outcomes[candidate.index] = {"id": candidate.echo_id, "status": outcome}
        else:
            outcome, reason = DROPPED, decision.reason.value
            outcomes[candidate.index] = {"id": candidate.echo_id, "status": outcome, "reason": reason}
        ledger.append((candidate.day, category, candidate.client, outcome, reason))
    for key, records in collections.Counter(ledger).items():
        batch.counts.add(LEDGER, key, (records,))
    _count_rows(counts=batch.counts, rows=rows, scrubbed=pseudonymizer.scrubbed)
    storage.insert(rows=rows)
    storage.add_counts(tenant_id=tenant.pk, counts=batch.counts)


def ingest_batch(*, tenant: Tenant, records: list) -> BatchResponse:
    """Validate, decide, pseudonymize, store and count a batch of records (parsed JSON) of a tenant.

    Each record gets its result, in order. A record is rejected when malformed, dropped when policy
    does not allow it or its day is already past its retention (counted, not stored), a duplicate
    when the tenant sent its id before (or earlier in the batch), accepted otherwise. Storage is
    all-or-nothing: a DatabaseError leaves nothing of the batch behind and propagates to the caller.

    A batch and a policy change of its tenant serialize (tenants/locks.py): each record is decided
    under the policy in force when the batch commits. Census rows are written to the staging table,
    from which the maintenance moves them (telemetry/maintenance.py, census unlinkability).
    """
    return ingest_batch_answer(tenant=tenant, records=records).response()


def ingest_batch_answer(*, tenant: Tenant, records: list) -> BatchAnswer:
    """ingest_batch, answered as the API sends it (BatchAnswer.json()), without a model per result."""
    records = list(records)
    batch = _validate(tenant=tenant, records=records)
    # Each day's partition (PostgreSQL) before the transaction: DDL inside it would hold the tables' locks.
    ensure_batch_partitions(tenant=tenant, records={(c.record.category, c.day) for c in batch.candidates})
    with transaction.atomic():
        policy_lock(tenant_id=tenant.pk, shared=True)
        facts = _gather_facts(tenant=tenant, batch=batch)
        _store(tenant=tenant, batch=batch, facts=facts)
    return BatchAnswer(results=batch.outcomes, errors=batch.errors)


# --- A user's data: erasure on request, and the opt-in their client sets (lifecycle.md, "Erasure").


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed, per table, and its receipt in the audit log."""

    removed: dict[str, int]
    receipt: AuditLogEntry


def _erase_error_reports(*, tenant: Tenant, pseudonyms: list[str]) -> int:
    deleted, _ = ErrorReport.objects.filter(tenant=tenant, user_hash__in=pseudonyms).delete()
    return deleted


@transaction.atomic
def end_user_erase(*, tenant: Tenant, pseudonyms: list[str], actor: Actor) -> Erasure:
    """Erase one user of a tenant, known by their pseudonyms (`user_pseudonyms`: one per hash key still
    in use, the current key's first): every stored error report and their opt-in row. Counts stay:
    they identify nobody. The receipt names the pseudonym's first characters and how many rows went,
    never the typed ID.

    Serialized with the tenant's batches: none in flight can store a report of the user afterwards."""
    policy_lock(tenant_id=tenant.pk, shared=False)
    removed = {
        "error_reports": _erase_error_reports(tenant=tenant, pseudonyms=pseudonyms),
        "end_users": end_user_delete(tenant=tenant, pseudonyms=pseudonyms),
    }
    receipt = erasure_receipt_write(tenant=tenant, actor=actor, pseudonym=pseudonyms[0], removed=removed)
    return Erasure(removed=removed, receipt=receipt)


@transaction.atomic
def error_reporting_set(*, tenant: Tenant, user_id: str, opted_in: bool) -> EndUser:
    """The user's own opt-in, as their client sends it. An opt-out of a user who was opted in erases
    their stored error reports at once when the tenant says so (EraseErrorReportsOnOptOut, default on),
    with a receipt whose actor is the client."""
    policy_lock(tenant_id=tenant.pk, shared=False)
    before = end_user_find(tenant=tenant, user_id=user_id)
    end_user = end_user_set_error_reporting(tenant=tenant, user_id=user_id, opted_in=opted_in)
    if before is not None and before.error_reporting_opted_in and not opted_in:
        erase = Tenant.objects.all_tenants().filter(pk=tenant.pk).values_list("erase_error_reports_on_opt_out")
        if erase.get()[0]:
            pseudonyms = user_pseudonyms(user_id, tenant_id=tenant.pk)
            removed = {"error_reports": _erase_error_reports(tenant=tenant, pseudonyms=pseudonyms)}
            erasure_receipt_write(tenant=tenant, actor=CLIENT_ACTOR, pseudonym=pseudonyms[0], removed=removed)
    return end_user

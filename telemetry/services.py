"""Ingestion: a tenant's batch of records validated, decided, pseudonymized, stored and counted.

`ingest_batch` is the one way records enter the database (the API and `seed_demo` both call it).
It reads the facts the decision needs in a constant number of queries, asks `telemetry.policy.decide`
about every valid record, and stores the batch all-or-nothing in one transaction.
"""

import datetime as dt
import operator
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from django.conf import settings
from django.db import transaction

from telemetry.models import ErrorReport, utc_today
from telemetry.names import fqdn_key
from telemetry.policy import Decision, MeetingUxSetting, TenantPolicy, decide
from telemetry.pseudonymize import hash_census_user_id, hash_sip_uri, truncate_ip, user_pseudonyms
from telemetry.records import ERROR_LOG, NAME, SHORT, THREAD_ID, USAGE_COUNTER_NAMES, oldest_kept_day
from telemetry.schemas import (
    BatchResponse,
    CensusRecordIn,
    ErrorReportIn,
    RecordResult,
    Rejection,
    UsageRecordIn,
    batch_response,
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
    storage_for_connection,
)
from telemetry.vocabulary import INVALID_REASON, MEETING_CLIENTS, Category, Outcome
from tenants.locks import policy_lock
from tenants.models import AuditLogEntry, EndUser, Pool, Tenant
from tenants.selectors import end_user_find, meeting_ux_configurations, pool_meeting_ux
from tenants.services import (
    CLIENT_ACTOR,
    Actor,
    end_user_delete,
    end_user_set_error_reporting,
    erasure_receipt_write,
)

POOL_UNKNOWN = "is not a pool of this tenant"


@dataclass(slots=True)
class _Candidate:
    """A valid record of the batch, waiting for its decision and its receipt."""

    index: int
    record: CensusRecordIn | UsageRecordIn | ErrorReportIn
    echo_id: str | None
    day: dt.date
    pool: Pool | None = None
    # An error report's user: the pseudonym stored (current key) and every one an opt-in may be kept under.
    user_hash: str = ""
    user_pseudonyms: tuple[str, ...] = ()


@dataclass
class _Batch:
    """A batch after validation, before any decision: what can be known without the tenant's policy."""

    outcomes: list  # per record: a RecordResult already final, or a _Candidate waiting for its outcome
    candidates: list[_Candidate]
    errors: list[tuple[str, str]]
    counts: Counts


@dataclass
class _Facts:
    """Everything the decision needs about one tenant, read once per batch under the policy lock."""

    policy: TenantPolicy
    configurations: dict[str, bool]
    opted_in: set[str]
    # Per category, the oldest day a record may have without being expired (lifecycle.md, "Retention").
    oldest_kept: dict[str, dt.date]
    meeting_ux: dict[int, MeetingUxSetting] = field(default_factory=dict)  # by pool id, resolved once

    def meeting_ux_of(self, pool: Pool) -> MeetingUxSetting:
        setting = self.meeting_ux.get(pool.pk)
        if setting is None:
            setting = self.meeting_ux[pool.pk] = pool_meeting_ux(pool=pool, configurations=self.configurations)
        return setting


def _validate(*, tenant: Tenant, records: list) -> _Batch:
    """Validate every record, find its pool, pseudonymize its user; nothing is read of the policy."""
    arrival_day = dt.datetime.now(dt.UTC).date()
    validated = [validate_record(raw, index=index) for index, raw in enumerate(records)]
    pool_names = {fqdn_key(item.pool) for item in validated if isinstance(item, UsageRecordIn | ErrorReportIn)}
    pools = {}
    if pool_names:
        # Pools are never deleted, so they can be read before the transaction.
        pools = {p.fqdn: p for p in Pool.objects.filter(tenant=tenant, fqdn__in=pool_names).select_related("site")}
    pseudonyms: dict[str, tuple[str, ...]] = {}  # hashed once per distinct user ID of the batch
    batch = _Batch(outcomes=[], candidates=[], errors=[], counts=Counts())
    seen: set[UUID] = set()
    for index, validated_item in enumerate(validated):
        raw = records[index]
        item, pool = validated_item, None
        if isinstance(item, UsageRecordIn | ErrorReportIn):
            pool = pools.get(fqdn_key(item.pool))
            if pool is None:
                item = reject(raw=raw, index=index, problems=[(("pool",), POOL_UNKNOWN)])
        if isinstance(item, Rejection):
            batch.errors.extend(item.errors)
            batch.outcomes.append(RecordResult(id=item.id, status=Outcome.REJECTED, reason=item.reason))
            batch.counts.add(
                LEDGER, (item.day or arrival_day, item.category, item.client, Outcome.REJECTED, INVALID_REASON)
            )
            continue
        echo_id = echo(raw.get("id"))
        day = item.timestamp.date()
        if item.id in seen:
            batch.outcomes.append(RecordResult(id=echo_id, status=Outcome.DUPLICATE))
            batch.counts.add(LEDGER, (day, item.category, item.client.value, Outcome.DUPLICATE, ""))
            continue
        seen.add(item.id)
        candidate = _Candidate(index=index, record=item, echo_id=echo_id, day=day, pool=pool)
        if isinstance(item, ErrorReportIn):
            if item.user_id not in pseudonyms:
                pseudonyms[item.user_id] = tuple(user_pseudonyms(item.user_id, tenant_id=tenant.pk))
            candidate.user_pseudonyms = pseudonyms[item.user_id]
            candidate.user_hash = candidate.user_pseudonyms[0]
        batch.candidates.append(candidate)
        batch.outcomes.append(candidate)
    return batch


def _gather_facts(*, tenant: Tenant, batch: _Batch) -> _Facts:
    """The tenant's policy and retentions, Meetings App configurations and the batch's opted-in users
    (3 queries at most).

    Read inside the batch's transaction under the shared policy lock, so they are the facts in force
    when the batch commits (tenants/locks.py)."""
    tenant_row = (
        Tenant.objects.all_tenants()
        .filter(pk=tenant.pk)
        .values(
            "disable_automatic_send_tracing", "watson_enabled", "usage_retention_days", "error_report_retention_days"
        )
        .get()
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
    configurations = {}
    if any(c.pool is not None and c.record.client in MEETING_CLIENTS for c in batch.candidates):
        configurations = meeting_ux_configurations(tenant=tenant)
    user_hashes = {pseudonym for c in batch.candidates for pseudonym in c.user_pseudonyms}
    opted_in = set()
    if user_hashes:
        opted_in = set(
            EndUser.objects.filter(tenant=tenant, user_hash__in=user_hashes, error_reporting_opted_in=True).values_list(
                "user_hash", flat=True
            )
        )
    return _Facts(policy=policy, configurations=configurations, opted_in=opted_in, oldest_kept=oldest_kept)


def _decide(candidate: _Candidate, facts: _Facts) -> Decision:
    """policy.decide on the facts of one record."""
    record = candidate.record
    meeting_pool = candidate.pool if record.client in MEETING_CLIENTS else None  # census has no pool
    return decide(
        category=record.category,
        client=record.client,
        tenant_policy=facts.policy,
        meeting_ux=facts.meeting_ux_of(meeting_pool) if meeting_pool is not None else None,
        user_opted_in=not facts.opted_in.isdisjoint(candidate.user_pseudonyms),
        windows_crash=isinstance(record, ErrorReportIn) and record.windows_crash,
        expired=candidate.day < facts.oldest_kept[record.category],
    )


class _Pseudonymizer:
    """The stored form of accepted records: identifiers hashed (once per distinct value of the batch),
    IP addresses cut to their network, free text scrubbed; what it adds to the count tables."""

    def __init__(self, *, tenant_id: int, counts: Counts):
        self.tenant_id = tenant_id
        self.counts = counts
        self.census_hashes: dict[str, str] = {}
        self.sip_hashes: dict[str, str] = {}

    def census_row(self, candidate: _Candidate) -> tuple:
        record = candidate.record
        census_hash = self.census_hashes.get(record.user_id)
        if census_hash is None:
            census_hash = self.census_hashes[record.user_id] = hash_census_user_id(record.user_id)
        return (
            uuid4(),
            candidate.day,
            record.timestamp,
            record.client.value,
            record.app_name,
            record.device_model,
            record.os_name,
            record.os_version,
            record.user_language,
            census_hash,
            record.device_id,
            record.sign_in_attempts,
            record.sign_in_failures,
        )

    def usage_row(self, candidate: _Candidate) -> tuple:
        record, day = candidate.record, candidate.day
        counters = _usage_values(record)
        partner = fqdn_key(record.federation_partner)
        self.counts.add(USAGE_SUMS, (candidate.pool.pk, day), (1, *counters))
        if partner:
            self.counts.add(FEDERATION_PARTNERS, (day, partner))
        return (*self._head(candidate), *counters, partner)

    def error_row(self, candidate: _Candidate) -> tuple:
        record, day = candidate.record, candidate.day
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
        self.counts.add(ERROR_CODES, (day, error_code))
        if replaced:
            self.counts.add(SCRUBBED, (day,), (replaced,))
        return (
            *self._head(candidate),
            candidate.user_hash,
            record.message_direction.value,
            state,
            thread_id,
            error_code,
            error_log,
            truncate_ip(record.ip_address) if record.ip_address else "",
            self._sip_hash(record.sip_uri) if record.sip_uri else "",
            record.os_name,
            record.crash,
        )

    def _head(self, candidate: _Candidate) -> tuple:
        # TENANT_RECORD_COLUMNS (telemetry/records.py).
        record = candidate.record
        return (self.tenant_id, candidate.pool.pk, record.id, candidate.day, record.timestamp, record.client.value)

    def _sip_hash(self, sip_uri: str) -> str:
        sip_hash = self.sip_hashes.get(sip_uri)
        if sip_hash is None:
            sip_hash = self.sip_hashes[sip_uri] = hash_sip_uri(sip_uri, tenant_id=self.tenant_id)
        return sip_hash


# A usage record's counters, in the order of USAGE_COUNTER_NAMES.
_usage_values = operator.attrgetter(*USAGE_COUNTER_NAMES)

_ROW_BUILDERS = {
    Category.CENSUS: _Pseudonymizer.census_row,
    Category.USAGE: _Pseudonymizer.usage_row,
    Category.ERROR: _Pseudonymizer.error_row,
}


def _store(*, tenant: Tenant, batch: _Batch, facts: _Facts) -> None:
    """Decide every candidate, then write receipts, records and counts (inside the caller's transaction).

    Only records that policy allows and whose id is new are pseudonymized: the cost of a dropped or
    duplicate record is its validation."""
    storage = storage_for_connection()
    decisions = [_decide(candidate, facts) for candidate in batch.candidates]
    new_ids = storage.claim(tenant_id=tenant.pk, record_ids=[c.record.id for c in batch.candidates])
    rows: dict[str, list[tuple]] = {category: [] for category in Category}
    pseudonymizer = _Pseudonymizer(tenant_id=tenant.pk, counts=batch.counts)
    for candidate, decision in zip(batch.candidates, decisions, strict=True):
        record = candidate.record
        if record.id not in new_ids:
            outcome, reason = Outcome.DUPLICATE, ""
        elif decision.stored:
            outcome, reason = Outcome.ACCEPTED, ""
            rows[record.category].append(_ROW_BUILDERS[record.category](pseudonymizer, candidate))
        else:
            outcome, reason = Outcome.DROPPED, decision.reason.value
        batch.counts.add(LEDGER, (candidate.day, record.category, record.client.value, outcome, reason))
        batch.outcomes[candidate.index] = (
            RecordResult(id=candidate.echo_id, status=outcome, reason=reason)
            if reason
            else RecordResult(id=candidate.echo_id, status=outcome)
        )
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
    records = list(records)
    batch = _validate(tenant=tenant, records=records)
    with transaction.atomic():
        policy_lock(tenant_id=tenant.pk, shared=True)
        facts = _gather_facts(tenant=tenant, batch=batch)
        _store(tenant=tenant, batch=batch, facts=facts)
    return batch_response(results=batch.outcomes, errors=batch.errors)


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

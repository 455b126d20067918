"""Ingestion: a tenant's batch of records validated, decided, pseudonymized, stored and counted.

`ingest_batch` is the one way records enter the database (the API and `seed_demo` both call it).
It reads the facts the decision needs in a constant number of queries, asks `telemetry.policy.decide`
about every valid record, and stores the batch all-or-nothing in one transaction.
"""

import datetime as dt
import operator
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from django.db import transaction

from telemetry.names import fqdn_key
from telemetry.policy import Decision, MeetingUxSetting, TenantPolicy, decide
from telemetry.pseudonymize import hash_census_user_id, hash_sip_uri, hash_user_id, truncate_ip
from telemetry.records import USAGE_COUNTER_NAMES
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
from telemetry.storage import ERROR_CODES, FEDERATION_PARTNERS, LEDGER, USAGE_SUMS, Counts, storage_for_connection
from telemetry.vocabulary import INVALID_REASON, MEETING_CLIENTS, Category, Outcome
from tenants.models import EndUser, Pool, Tenant
from tenants.selectors import meeting_ux_configurations, pool_meeting_ux

POOL_UNKNOWN = "is not a pool of this tenant"


@dataclass(slots=True)
class _Candidate:
    """A valid record of the batch that policy has decided on, waiting for its receipt."""

    index: int
    record: CensusRecordIn | UsageRecordIn | ErrorReportIn
    echo_id: str | None
    day: dt.date
    pool: Pool | None = None
    decision: Decision | None = None
    user_hash: str = ""
    row: tuple | None = None


@dataclass
class _Facts:
    """Everything the decision needs about one tenant, read once per batch."""

    policy: TenantPolicy
    pools: dict[str, Pool]
    configurations: dict[str, bool]
    opted_in: set[str]
    meeting_ux: dict[int, MeetingUxSetting] = field(default_factory=dict)  # by pool id, resolved once

    def meeting_ux_of(self, pool: Pool) -> MeetingUxSetting:
        setting = self.meeting_ux.get(pool.pk)
        if setting is None:
            setting = self.meeting_ux[pool.pk] = pool_meeting_ux(pool=pool, configurations=self.configurations)
        return setting


def _gather_facts(*, tenant: Tenant, records: list, user_hashes: set[str]) -> _Facts:
    pool_names = {fqdn_key(r.pool) for r in records if isinstance(r, UsageRecordIn | ErrorReportIn)}
    # The tenant is read again: a caller's object may predate a policy change.
    policy = TenantPolicy(
        **Tenant.objects.all_tenants()
        .filter(pk=tenant.pk)
        .values("disable_automatic_send_tracing", "watson_enabled")
        .get()
    )
    pools = {}
    if pool_names:
        pools = {p.fqdn: p for p in Pool.objects.filter(tenant=tenant, fqdn__in=pool_names).select_related("site")}
    configurations = {}
    if any(isinstance(r, UsageRecordIn | ErrorReportIn) and r.client in MEETING_CLIENTS for r in records):
        configurations = meeting_ux_configurations(tenant=tenant)
    opted_in = set()
    if user_hashes:
        opted_in = set(
            EndUser.objects.filter(tenant=tenant, user_hash__in=user_hashes, error_reporting_opted_in=True).values_list(
                "user_hash", flat=True
            )
        )
    return _Facts(policy=policy, pools=pools, configurations=configurations, opted_in=opted_in)


def _decide(candidate: _Candidate, facts: _Facts) -> Decision:
    """policy.decide on the facts of one record."""
    record = candidate.record
    meeting_pool = candidate.pool if record.client in MEETING_CLIENTS else None  # census has no pool
    return decide(
        category=record.category,
        client=record.client,
        tenant_policy=facts.policy,
        meeting_ux=facts.meeting_ux_of(meeting_pool) if meeting_pool is not None else None,
        user_opted_in=candidate.user_hash in facts.opted_in,
        windows_crash=isinstance(record, ErrorReportIn) and record.windows_crash,
    )


def _row(candidate: _Candidate, *, tenant_id: int) -> tuple:
    """The stored form of an accepted record: identifiers hashed, the IP address cut to its network."""
    record = candidate.record
    client = record.client.value
    if isinstance(record, CensusRecordIn):
        return (
            uuid4(),
            candidate.day,
            record.timestamp,
            client,
            record.app_name,
            record.device_model,
            record.os_name,
            record.os_version,
            record.user_language,
            hash_census_user_id(record.user_id),
            record.device_id,
            record.sign_in_attempts,
            record.sign_in_failures,
        )
    # TENANT_RECORD_COLUMNS, then the category's own columns (telemetry/records.py).
    head = (tenant_id, candidate.pool.pk, record.id, candidate.day, record.timestamp, client)
    if isinstance(record, UsageRecordIn):
        return (*head, *_usage_values(record), _partner(record))
    return (
        *head,
        candidate.user_hash,
        record.message_direction.value,
        record.conversation_state,
        record.conversation_thread_id,
        record.error_code,
        record.error_log,
        truncate_ip(record.ip_address) if record.ip_address else "",
        hash_sip_uri(record.sip_uri) if record.sip_uri else "",
        record.os_name,
        record.crash,
    )


def _partner(record: UsageRecordIn) -> str:
    # Organization names are case-insensitive domains: one spelling per partner keeps the counts whole.
    return fqdn_key(record.federation_partner)


# A usage record's counters, in the order of USAGE_COUNTER_NAMES.
_usage_values = operator.attrgetter(*USAGE_COUNTER_NAMES)


@dataclass
class _Plan:
    """A batch after validation and decision, before storage."""

    outcomes: list  # per record: a RecordResult already final, or a _Candidate waiting for its receipt
    candidates: list[_Candidate]
    errors: list[tuple[str, str]]
    counts: Counts


def _plan(*, tenant: Tenant, records: list) -> _Plan:
    """Validate every record and decide on the valid ones; nothing is written here."""
    arrival_day = dt.datetime.now(dt.UTC).date()
    validated = [validate_record(raw, index=index) for index, raw in enumerate(records)]
    user_hashes = {
        index: hash_user_id(item.user_id) for index, item in enumerate(validated) if isinstance(item, ErrorReportIn)
    }
    facts = _gather_facts(
        tenant=tenant,
        records=[item for item in validated if not isinstance(item, Rejection)],
        user_hashes=set(user_hashes.values()),
    )
    plan = _Plan(outcomes=[], candidates=[], errors=[], counts=Counts())
    seen: set[UUID] = set()
    for index, validated_item in enumerate(validated):
        raw = records[index]
        item, pool = validated_item, None
        if isinstance(item, UsageRecordIn | ErrorReportIn):
            pool = facts.pools.get(fqdn_key(item.pool))
            if pool is None:
                item = reject(raw=raw, index=index, problems=[(("pool",), POOL_UNKNOWN)])
        if isinstance(item, Rejection):
            plan.errors.extend(item.errors)
            plan.outcomes.append(RecordResult(id=item.id, status=Outcome.REJECTED, reason=item.reason))
            plan.counts.add(
                LEDGER, (item.day or arrival_day, item.category, item.client, Outcome.REJECTED, INVALID_REASON)
            )
            continue
        echo_id = echo(raw.get("id"))
        day = item.timestamp.date()
        if item.id in seen:
            plan.outcomes.append(RecordResult(id=echo_id, status=Outcome.DUPLICATE))
            plan.counts.add(LEDGER, (day, item.category, item.client.value, Outcome.DUPLICATE, ""))
            continue
        seen.add(item.id)
        candidate = _Candidate(
            index=index, record=item, echo_id=echo_id, day=day, pool=pool, user_hash=user_hashes.get(index, "")
        )
        candidate.decision = _decide(candidate, facts)
        if candidate.decision.stored:
            # Pseudonymized before the transaction opens: hashing is the slow part, locks are held shortly.
            candidate.row = _row(candidate, tenant_id=tenant.pk)
        plan.candidates.append(candidate)
        plan.outcomes.append(candidate)
    return plan


def _store(*, tenant: Tenant, plan: _Plan) -> None:
    """Receipts, records and counts of a planned batch, in one transaction; settles every candidate."""
    counts = plan.counts
    rows: dict[str, list[tuple]] = {category: [] for category in Category}
    storage = storage_for_connection()
    with transaction.atomic():
        new_ids = storage.claim(tenant_id=tenant.pk, record_ids=[c.record.id for c in plan.candidates])
        for candidate in plan.candidates:
            record = candidate.record
            if record.id not in new_ids:
                outcome, reason = Outcome.DUPLICATE, ""
            elif candidate.decision.stored:
                outcome, reason = Outcome.ACCEPTED, ""
                rows[record.category].append(candidate.row)
                if isinstance(record, UsageRecordIn):
                    counts.add(USAGE_SUMS, (candidate.pool.pk, candidate.day), (1, *_usage_values(record)))
                    if partner := _partner(record):
                        counts.add(FEDERATION_PARTNERS, (candidate.day, partner))
                elif isinstance(record, ErrorReportIn):
                    counts.add(ERROR_CODES, (candidate.day, record.error_code))
            else:
                outcome, reason = Outcome.DROPPED, candidate.decision.reason.value
            counts.add(LEDGER, (candidate.day, record.category, record.client.value, outcome, reason))
            plan.outcomes[candidate.index] = (
                RecordResult(id=candidate.echo_id, status=outcome, reason=reason)
                if reason
                else RecordResult(id=candidate.echo_id, status=outcome)
            )
        storage.insert(rows=rows)
        storage.add_counts(tenant_id=tenant.pk, counts=counts)


def ingest_batch(*, tenant: Tenant, records: list) -> BatchResponse:
    """Validate, decide, pseudonymize, store and count a batch of records (parsed JSON) of a tenant.

    Each record gets its result, in order. A record is rejected when malformed, dropped when policy
    does not allow it (counted, not stored), a duplicate when the tenant sent its id before (or
    earlier in the batch), accepted otherwise. Storage is all-or-nothing: a DatabaseError leaves
    nothing of the batch behind and propagates to the caller.
    """
    records = list(records)
    plan = _plan(tenant=tenant, records=records)
    _store(tenant=tenant, plan=plan)
    return batch_response(results=plan.outcomes, errors=plan.errors)

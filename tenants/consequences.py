"""What a change of policy would affect, before it is made: the what-if of the confirmation page, the
records a shorter retention deletes, and the numbers said after a change that starts collecting.

The numbers come from telemetry's count tables, which tenants may not import (tests/test_architecture.py
keeps the dependency one way). So tenants asks through this small registry, and telemetry fills it in
its AppConfig.ready() (telemetry/apps.py) with a provider that reads the ledger.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.utils import timezone
from django.utils.formats import date_format

from telemetry.policy import TenantPolicy, audit_sentence, retention_removal_words, started_words, what_if_words
from telemetry.vocabulary import AuditAction, Category, Client, DropReason, Outcome
from tenants.selectors import (
    error_reports_erased_since,
    meeting_ux_configurations,
    opted_in_user_count,
    pool_meeting_ux,
    retention_may_have_removed,
    tenant_pools,
)

# The what-if averages this many whole days before today (today is not over yet).
ESTIMATE_DAYS = 7


@dataclass(frozen=True)
class LedgerSlice:
    """Which rows of the ledger (IngestionCount) a change affects: the categories and clients it
    governs, and the outcome (with its reason, for drops) those records have today."""

    categories: tuple[str, ...]
    clients: tuple[str, ...]
    outcome: str
    reason: str = ""


# (tenant, ledger slice, first day, last day) -> records of that slice in those days.
Provider = Callable[..., int]

_providers: list[Provider] = []


def register(provider: Provider) -> None:
    """Telemetry's ledger reader; registering again replaces it."""
    _providers[:] = [provider]


def estimate_window(*, today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    today = today or timezone.now().date()
    return today - datetime.timedelta(days=ESTIMATE_DAYS), today - datetime.timedelta(days=1)


def records_per_day(*, tenant, slices: Iterable[LedgerSlice], today: datetime.date | None = None) -> float | None:
    """The average records per day of the last ESTIMATE_DAYS whole days in the given ledger slices;
    None when no provider is registered (the telemetry app is not installed)."""
    if not _providers:
        return None
    date_from, date_to = estimate_window(today=today)
    total = sum(
        _providers[0](tenant=tenant, ledger_slice=ledger_slice, date_from=date_from, date_to=date_to)
        for ledger_slice in slices
    )
    return total / ESTIMATE_DAYS


def _clients(*clients) -> tuple[str, ...]:
    return tuple(str(client) for client in clients)


ORGANIZATION_CLIENTS = _clients(Client.DESKTOP, Client.MOBILE, Client.WEB)
MEETINGS_CLIENTS = _clients(Client.MEETINGS_APP, Client.JOIN_LAUNCHER)
USAGE_AND_ERRORS = (str(Category.USAGE), str(Category.ERROR))


def client_policy_what_if(*, tenant, new: TenantPolicy, today: datetime.date | None = None) -> list[str]:
    """What changing the tenant's usage switch and Watson setting to `new` stops or starts, in numbers."""
    old = tenant.policy
    lines = []
    if old.disable_automatic_send_tracing != new.disable_automatic_send_tracing:
        stops = new.disable_automatic_send_tracing
        if stops:
            slices = [LedgerSlice(USAGE_AND_ERRORS, ORGANIZATION_CLIENTS, str(Outcome.ACCEPTED))]
        else:
            reason = str(DropReason.USAGE_COLLECTION_DISABLED)
            slices = [LedgerSlice(USAGE_AND_ERRORS, ORGANIZATION_CLIENTS, str(Outcome.DROPPED), reason)]
        lines += what_if_words(
            stops=stops,
            # Turned back on, error reports of users who have not opted in are still dropped.
            exact=stops,
            records_per_day=records_per_day(tenant=tenant, slices=slices, today=today),
            days=ESTIMATE_DAYS,
            opted_in_users=opted_in_user_count(tenant=tenant),
            every_pool=True,
        )
    if old.watson_enabled != new.watson_enabled:
        stops = not new.watson_enabled
        errors = (str(Category.ERROR),)
        if stops:
            slices = [LedgerSlice(errors, MEETINGS_CLIENTS, str(Outcome.ACCEPTED))]
        else:
            slices = [LedgerSlice(errors, MEETINGS_CLIENTS, str(Outcome.DROPPED), str(DropReason.WATSON_DISABLED))]
        lines += what_if_words(
            stops=stops,
            # The ledger does not tell a crash from the Meetings App's other error reports.
            exact=not stops,
            records_per_day=records_per_day(tenant=tenant, slices=slices, today=today),
            days=ESTIMATE_DAYS,
            every_pool=True,
        )
    return lines


def meeting_ux_what_if(
    *, tenant, identity: str, new_value: bool | None, today: datetime.date | None = None
) -> list[str]:
    """What setting (new_value None: removing) the Meetings App setting at `identity` stops or starts."""
    before = meeting_ux_configurations(tenant=tenant)
    after = dict(before)
    if new_value is None:
        after.pop(identity, None)
    else:
        after[identity] = new_value
    pools = tenant_pools(tenant=tenant)
    on_before = {pool.fqdn for pool in pools if pool_meeting_ux(pool=pool, configurations=before).enabled}
    on_after = {pool.fqdn for pool in pools if pool_meeting_ux(pool=pool, configurations=after).enabled}
    every = {pool.fqdn for pool in pools}
    lines = []
    # (stops, the pools that change, the pools whose records the ledger's slice holds today)
    for stops, changed, counted in (
        (True, on_before - on_after, on_before),
        (False, on_after - on_before, every - on_before),
    ):
        if not changed:
            continue
        if stops:
            slices = [LedgerSlice(USAGE_AND_ERRORS, MEETINGS_CLIENTS, str(Outcome.ACCEPTED))]
        else:
            reason = str(DropReason.MEETING_UX_TELEMETRY_DISABLED)
            slices = [LedgerSlice(USAGE_AND_ERRORS, MEETINGS_CLIENTS, str(Outcome.DROPPED), reason)]
        lines += what_if_words(
            stops=stops,
            # The ledger counts the Meetings App per organization, not per pool: exact only when every
            # pool that collects (or drops) today changes.
            exact=changed == counted,
            records_per_day=records_per_day(tenant=tenant, slices=slices, today=today),
            days=ESTIMATE_DAYS,
            pools=sorted(changed),
        )
    return lines


# --- Retention: what a shorter retention deletes, from the ledger's accepted records per day, never by
# counting the record tables (millions of rows; and, once they are partitioned by day, whole days).

ALL_CLIENTS = tuple(Client.values)
# The Tenant field of each retention, the cmdlet's name of it, and the ledger category of its records.
RETENTIONS = (
    ("usage_retention_days", "KeepUsageRecordsForDays", str(Category.USAGE)),
    ("error_report_retention_days", "KeepErrorReportForDays", str(Category.ERROR)),
)


def retention_what_if(
    *, tenant, usage_days: int, error_report_days: int, today: datetime.date | None = None
) -> list[str]:
    """What setting the retentions to these days deletes, one line per retention it shortens; empty when
    it shortens none.

    The records that leave are those of the days that were kept and no longer are: from today minus the
    old retention to the day before today minus the new one (older ones are already expired, whatever
    the change). Their number is what the ledger accepted on those days: exact, unless some of them may
    already be gone (error reports erased since, or days an earlier, shorter retention deleted), when it
    is a bound ("at most"). Records dated up to a day ahead are never in those days.
    """
    today = today or timezone.now().date()
    new_days = {"usage_retention_days": usage_days, "error_report_retention_days": error_report_days}
    lines = []
    for field, setting_name, category in RETENTIONS:
        old, new = getattr(tenant, field), new_days[field]
        if new >= old:
            continue
        first_day = today - datetime.timedelta(days=old)
        last_day = today - datetime.timedelta(days=new + 1)
        records = None
        if _providers:
            records = _providers[0](
                tenant=tenant,
                ledger_slice=LedgerSlice((category,), ALL_CLIENTS, str(Outcome.ACCEPTED)),
                date_from=first_day,
                date_to=last_day,
            )
        gone = retention_may_have_removed(tenant=tenant, setting_name=setting_name, since=first_day)
        if category == Category.ERROR:
            gone = gone or error_reports_erased_since(tenant=tenant, since=first_day)
        lines.append(
            retention_removal_words(
                setting=setting_name,
                old_days=old,
                new_days=new,
                records=records,
                exact=not gone,
                # As the reader's language writes a day (ISO in English, portal/formats/en).
                first_day=date_format(first_day, "SHORT_DATE_FORMAT"),
                last_day=date_format(last_day, "SHORT_DATE_FORMAT"),
            )
        )
    return lines


# --- After a change that only starts collecting: no confirmation (nothing is lost, and the same switch
# undoes it), but the message that says it is saved says what it starts, in the same numbers.


def client_policy_started(*, tenant, new: TenantPolicy, today: datetime.date | None = None) -> list[str]:
    """For each organization-wide setting that `new` turns on, the change and what it starts collecting."""
    old = tenant.policy
    messages = []
    if old.disable_automatic_send_tracing and not new.disable_automatic_send_tracing:
        only_usage = TenantPolicy(disable_automatic_send_tracing=False, watson_enabled=old.watson_enabled)
        messages.append(
            started_words(
                change=audit_sentence(action=AuditAction.SET_CLIENT_POLICY, target="", new_value=False),
                what_if=client_policy_what_if(tenant=tenant, new=only_usage, today=today),
            )
        )
    if not old.watson_enabled and new.watson_enabled:
        only_watson = TenantPolicy(disable_automatic_send_tracing=old.disable_automatic_send_tracing)
        messages.append(
            started_words(
                change=audit_sentence(action=AuditAction.SET_WATSON, target="", new_value=True),
                what_if=client_policy_what_if(tenant=tenant, new=only_watson, today=today),
            )
        )
    return messages


def meeting_ux_started(*, tenant, identity: str, new_value: bool, today: datetime.date | None = None) -> list[str]:
    """The change and what it starts collecting, when setting the Meetings App setting at `identity` to
    `new_value` turns it on for some pool; empty otherwise."""
    if not new_value:
        return []
    what_if = meeting_ux_what_if(tenant=tenant, identity=identity, new_value=True, today=today)
    if not what_if:
        return []
    change = audit_sentence(action=AuditAction.SET_WEB_SERVICE_CONFIGURATION, target=identity, new_value=True)
    return [started_words(change=change, what_if=what_if)]

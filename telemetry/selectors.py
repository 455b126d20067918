"""Reads of telemetry that are more than a `get`: the counts, for the dashboards and the counts API."""

from datetime import date

from django.db.models import Sum

from telemetry.models import (
    CensusDailySum,
    ErrorCodeDailyCount,
    ErrorReport,
    FederationPartnerDailyCount,
    IngestionCount,
    ScrubbedDailyCount,
    UsageDailySum,
)
from telemetry.policy import decide, explain_error_reporting, explain_usage
from telemetry.records import USAGE_COUNTER_NAMES
from telemetry.schemas import CensusSums, CountsResponse, PolicyExplain, PolicyResponse
from telemetry.vocabulary import POLICY_ACTIONS, Category, Client
from tenants.models import AuditLogEntry, EndUser, Pool, Tenant
from tenants.selectors import end_user_find, meeting_ux_configurations, pool_meeting_ux

# --- The counts API (GET /portal/api/counts) and the client's policy (GET /api/v1/policy).


def counts_for_tenant(*, tenant: Tenant, date_from: date, date_to: date) -> CountsResponse:
    """The counts endpoint's answer (api.md); reads only the count tables, in four queries."""
    ledger = (
        IngestionCount.objects.filter(tenant=tenant, day__range=(date_from, date_to), records__gt=0)
        .order_by("day", "category", "client", "outcome", "reason")
        .values("day", "category", "client", "outcome", "reason", "records")
    )
    usage = UsageDailySum.objects.filter(tenant=tenant, day__range=(date_from, date_to)).aggregate(
        **{name: Sum(name) for name in USAGE_COUNTER_NAMES}
    )
    error_reports = ErrorCodeDailyCount.objects.filter(tenant=tenant, day__range=(date_from, date_to)).aggregate(
        total=Sum("records")
    )["total"]
    scrubbed = scrubbed_total(tenant=tenant, date_from=date_from, date_to=date_to)
    return CountsResponse(
        tenant=tenant.slug,
        date_from=date_from,
        date_to=date_to,
        ledger=list(ledger),
        usage={name: usage[name] or 0 for name in USAGE_COUNTER_NAMES},
        error_reports=error_reports or 0,
        scrubbed=scrubbed,
    )


def scrubbed_total(*, tenant: Tenant | None, date_from: date, date_to: date) -> int:
    """Personal values replaced in the free text of the tenant's (None: every tenant's) error reports
    stored in the period."""
    scrubbed = _counts(ScrubbedDailyCount, tenant=tenant, date_from=date_from, date_to=date_to)
    return scrubbed.aggregate(total=Sum("replaced"))["total"] or 0


def client_policy(*, tenant: Tenant, user_id: str | None, pool: Pool | None) -> PolicyResponse:
    """The effective policy of a tenant for one (optional) user and pool, decided by policy.decide.

    The explanation echoes the user ID the client sent: it is the client's own, and never stored.
    """
    tenant_policy = tenant.policy
    usage = decide(category=Category.USAGE, client=Client.DESKTOP, tenant_policy=tenant_policy)

    end_user = end_user_find(tenant=tenant, user_id=user_id) if user_id else None
    opted_in = end_user is not None and end_user.error_reporting_opted_in
    error_reporting = decide(
        category=Category.ERROR, client=Client.DESKTOP, tenant_policy=tenant_policy, user_opted_in=opted_in
    )
    meeting_ux = pool_meeting_ux(pool=pool, configurations=meeting_ux_configurations(tenant=tenant))
    meetings_app = decide(
        category=Category.USAGE, client=Client.MEETINGS_APP, tenant_policy=tenant_policy, meeting_ux=meeting_ux
    )
    return PolicyResponse(
        census=decide(category=Category.CENSUS, client=Client.DESKTOP, tenant_policy=tenant_policy).stored,
        usage=usage.stored,
        error_reporting=error_reporting.stored,
        meetings_app=meetings_app.stored,
        explain=PolicyExplain(
            usage=explain_usage(tenant_policy),
            error_reporting=explain_error_reporting(tenant_policy, user_id, opted_in),
            meetings_app=meeting_ux.explanation,
        ),
    )


# --- The dashboard's reads (telemetry/dashboard.py). They read only the count tables and the audit
# log: the raw record tables hold tens of millions of rows and a dashboard must not scan them.


def _counts(model, *, tenant: Tenant | None, date_from: date, date_to: date):
    """A count table's rows of the period: one tenant's, or (tenant None, the all-tenants dashboard of
    support staff, whose view checks the viewer) every tenant's, spelled out as all_tenants()."""
    rows = model.objects.filter(tenant=tenant) if tenant is not None else model.objects.all_tenants()
    return rows.filter(day__range=(date_from, date_to))


def dashboard_ledger(*, tenant: Tenant | None, date_from: date, date_to: date) -> list[dict]:
    """Records per day, category, outcome and reason (clients summed), in day order."""
    return list(
        _counts(IngestionCount, tenant=tenant, date_from=date_from, date_to=date_to)
        .values("day", "category", "outcome", "reason")
        .annotate(total=Sum("records"))
        .filter(total__gt=0)
        .order_by("day", "category", "outcome", "reason")
    )


def dashboard_usage_by_pool(*, tenant: Tenant | None, date_from: date, date_to: date) -> list[dict]:
    """Stored usage summed per pool over the period, pools in name order (over every tenant: with
    their tenant's slug)."""
    pool = ("pool__fqdn",) if tenant is not None else ("pool__fqdn", "tenant__slug")
    return list(
        _counts(UsageDailySum, tenant=tenant, date_from=date_from, date_to=date_to)
        .values(*pool)
        .annotate(records=Sum("records"), **{field: Sum(field) for field in USAGE_COUNTER_NAMES})
        .order_by(*pool)
    )


def dashboard_usage_by_day(*, tenant: Tenant | None, date_from: date, date_to: date) -> dict[date, dict]:
    """Stored usage summed per day (all pools); days without stored usage are absent."""
    rows = (
        _counts(UsageDailySum, tenant=tenant, date_from=date_from, date_to=date_to)
        .values("day")
        .annotate(records=Sum("records"), **{field: Sum(field) for field in USAGE_COUNTER_NAMES})
        .order_by("day")
    )
    return {row.pop("day"): row for row in rows}


def dashboard_top_federation_partners(
    *, tenant: Tenant | None, date_from: date, date_to: date, limit: int
) -> list[dict]:
    return list(
        _counts(FederationPartnerDailyCount, tenant=tenant, date_from=date_from, date_to=date_to)
        .values("partner")
        .annotate(total=Sum("records"))
        .order_by("-total", "partner")[:limit]
    )


def dashboard_error_codes(*, tenant: Tenant | None, date_from: date, date_to: date, limit: int) -> list[dict]:
    return list(
        _counts(ErrorCodeDailyCount, tenant=tenant, date_from=date_from, date_to=date_to)
        .values("error_code")
        .annotate(total=Sum("records"))
        .order_by("-total", "error_code")[:limit]
    )


def dashboard_policy_changes(*, tenant: Tenant, date_from: date, date_to: date) -> list[AuditLogEntry]:
    """The tenant's policy changes in the period, oldest first."""
    return list(
        AuditLogEntry.objects.filter(
            tenant=tenant, action__in=POLICY_ACTIONS, created_at__date__range=(date_from, date_to)
        ).order_by("created_at", "id")
    )


def erasure_preview(*, tenant: Tenant, pseudonyms: list[str]) -> dict[str, int]:
    """What erasing the user of these pseudonyms would remove, per table (as end_user_erase counts it).

    The error reports are counted through the (user_hash, timestamp, id) index: one user's reports, not a scan."""
    return {
        "error_reports": ErrorReport.objects.filter(tenant=tenant, user_hash__in=pseudonyms).count(),
        "end_users": EndUser.objects.filter(tenant=tenant, user_hash__in=pseudonyms).count(),
    }


# --- The what-if of a policy change (tenants/consequences.py asks; telemetry/apps.py registers it).


def ledger_records(*, tenant: Tenant, ledger_slice, date_from: date, date_to: date) -> int:
    """Records of the ledger in a slice (categories, clients, outcome, reason) and a period of days."""
    rows = IngestionCount.objects.filter(
        tenant=tenant,
        day__range=(date_from, date_to),
        category__in=ledger_slice.categories,
        client__in=ledger_slice.clients,
        outcome=ledger_slice.outcome,
    )
    if ledger_slice.reason:
        rows = rows.filter(reason=ledger_slice.reason)
    return rows.aggregate(total=Sum("records"))["total"] or 0


# --- The all-tenants dashboard (telemetry/dashboard.py, support staff and superusers only). The same
# count tables, summed over every tenant: crossing tenants is spelled out (`all_tenants()`).


def tenants_ranked_by_records(*, outcomes: list[str], date_from: date, date_to: date, limit: int) -> list[dict]:
    """The tenants with the most records of these outcomes in the period (every outcome: volume;
    dropped: drops), most first, as `tenant__slug`, `tenant__name` and `total`; tenants without any
    are left out."""
    return list(
        IngestionCount.objects.all_tenants()
        .filter(day__range=(date_from, date_to), outcome__in=outcomes)
        .values("tenant__slug", "tenant__name")
        .annotate(total=Sum("records"))
        .filter(total__gt=0)
        .order_by("-total", "tenant__slug")[:limit]
    )


# --- Census sums (CensusDailySum): installation-wide, since census names no tenant, so for support staff
# only (the all-tenants dashboard, and the counts API when support staff ask). Filled by the maintenance's
# census move, never at ingestion: a census record counts here once maintain_telemetry has moved it.

CENSUS_SUMMED = ("records", "sign_in_attempts", "sign_in_failures")


def census_sums_by_day(*, date_from: date, date_to: date) -> dict[date, dict]:
    """The census sums of each day of the period that has any; days without are absent."""
    rows = CensusDailySum.objects.filter(day__range=(date_from, date_to)).order_by("day").values("day", *CENSUS_SUMMED)
    return {row.pop("day"): row for row in rows}


def census_sums(*, date_from: date, date_to: date) -> CensusSums:
    """The census sums of the whole period."""
    totals = CensusDailySum.objects.filter(day__range=(date_from, date_to)).aggregate(
        **{name: Sum(name) for name in CENSUS_SUMMED}
    )
    return CensusSums(**{name: totals[name] or 0 for name in CENSUS_SUMMED})

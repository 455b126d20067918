"""The telemetry dashboard of one tenant: what was collected, what policy dropped, and when policy changed.

It reads only the count tables and the audit log (telemetry/selectors.py, `dashboard_*`), never the
raw record tables. A tenant admin sees their own tenant (another tenant's slug is a 404); support
staff pick any tenant. The CSV export writes exactly the tables the page shows.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop, ngettext, pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from telemetry import charts
from telemetry.csv_export import csv_attachment
from telemetry.forms import PeriodForm
from telemetry.policy import actor_words, category_words, client_policy_summary, on_off, reason_words
from telemetry.records import USAGE_COUNTER_NAMES, USAGE_COUNTERS
from telemetry.selectors import (
    CENSUS_SUMMED,
    census_sums_by_day,
    dashboard_error_codes,
    dashboard_ledger,
    dashboard_policy_changes,
    dashboard_top_federation_partners,
    dashboard_usage_by_day,
    dashboard_usage_by_pool,
    scrubbed_total,
    tenants_ranked_by_records,
)
from telemetry.templatetags.telemetry_tags import usage_counters
from telemetry.vocabulary import Category, Outcome
from tenants.models import AuditLogEntry, Tenant
from tenants.scoping import admin_tenant_id, visible_tenant_ids
from tenants.selectors import pools_with_effective_meeting_ux, tenant_for_viewer

MAX_DAYS = 366
TOP_PARTNERS = 10
TOP_ERROR_CODES = 20


def policy_change_words(entry: AuditLogEntry) -> str:
    """An audit entry as a sentence: "Usage data collection turned off by hamlet"."""
    # Translators: a policy change (e.g. "Usage data collection turned off") and who made it (a user
    # name, or "the set_cs_client_policy command").
    return gettext("%(change)s by %(actor)s") % {"change": entry.summary, "actor": actor_words(entry.actor)}


class DashboardForm(PeriodForm):
    """The period and, for those who see several tenants, the tenant."""

    def __init__(self, data, *, tenants: list[Tenant] | None, today: date):
        super().__init__(data, today=today, max_days=MAX_DAYS)
        self.tenants = tenants
        if tenants is not None:
            self.fields["tenant"] = forms.ChoiceField(
                choices=[(tenant.slug, tenant.name) for tenant in tenants],
                required=False,
                label=gettext_lazy("Tenant"),
            )
        # The tenant first, then the period.
        self.order_fields(["tenant", "from", "to"])


@dataclass
class LedgerRow:
    day: date
    category: str
    accepted: int = 0
    dropped: int = 0
    rejected: int = 0
    duplicates: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def category_label(self) -> str:
        return category_words(self.category)

    @property
    def why_dropped(self) -> str:
        return "; ".join(
            f"{reason_words(reason)}: {charts.number_label(count)}" for reason, count in self.drop_reasons.items()
        )


@dataclass
class Dashboard:
    tenant: Tenant
    date_from: date
    date_to: date
    days: list[date]
    policy: list[tuple[str, str]]
    ledger: list[LedgerRow]
    drops: list[tuple[str, str, int]]
    usage_by_pool: list[dict]
    usage_total: dict
    usage_by_day: list[dict]
    partners: list[dict]
    error_codes: list[dict]
    scrubbed: int
    policy_changes: list[tuple[AuditLogEntry, str]]

    @property
    def markers(self) -> list[charts.Marker]:
        return [charts.Marker(day=entry.created_at.date(), label=words) for entry, words in self.policy_changes]

    @property
    def numbered_policy_changes(self) -> list[tuple[int | None, AuditLogEntry, str]]:
        """The policy changes with the number of their marker on the charts (None: outside the days)."""
        number_of = {
            marker.day: group.number
            for group in charts.marker_groups(self.days, self.markers)
            for marker in group.markers
        }
        return [(number_of.get(entry.created_at.date()), entry, words) for entry, words in self.policy_changes]


def _policy_summary(tenant: Tenant) -> list[tuple[str, str]]:
    lines = client_policy_summary(tenant.policy)
    for pool, setting in pools_with_effective_meeting_ux(tenant=tenant):
        lines.append(
            (
                gettext("Meetings App telemetry for %(pool)s") % {"pool": pool.fqdn},
                # Translators: a setting's value (On, Off) and the scope that decided it, e.g. "On (Site:Redmond)".
                pgettext("setting value and its scope", "%(value)s (%(scope)s)")
                % {"value": on_off(setting.enabled), "scope": setting.identity},
            )
        )
    return lines


def _ledger_rows(rows: list[dict]) -> list[LedgerRow]:
    by_key: dict[tuple[date, str], LedgerRow] = {}
    for row in rows:
        key = (row["day"], row["category"])
        entry = by_key.setdefault(key, LedgerRow(day=row["day"], category=row["category"]))
        outcome, total = row["outcome"], row["total"]
        if outcome == Outcome.ACCEPTED:
            entry.accepted += total
        elif outcome == Outcome.DROPPED:
            entry.dropped += total
            entry.drop_reasons[row["reason"]] = entry.drop_reasons.get(row["reason"], 0) + total
        elif outcome == Outcome.REJECTED:
            entry.rejected += total
        elif outcome == Outcome.DUPLICATE:
            entry.duplicates += total
    return list(by_key.values())


def _drop_totals(ledger: list[LedgerRow]) -> list[tuple[str, str, int]]:
    totals: dict[tuple[str, str], int] = {}
    for row in ledger:
        for reason, count in row.drop_reasons.items():
            totals[(row.category, reason)] = totals.get((row.category, reason), 0) + count
    return [
        (category_words(category), reason_words(reason), count)
        for (category, reason), count in sorted(totals.items(), key=lambda item: -item[1])
    ]


def _period_counts(*, tenant: Tenant | None, date_from: date, date_to: date) -> dict:
    """What both dashboards show of a period, from the count tables: one tenant's, or every tenant's."""
    days = [date_from + timedelta(days=offset) for offset in range((date_to - date_from).days + 1)]
    period = {"tenant": tenant, "date_from": date_from, "date_to": date_to}
    ledger = _ledger_rows(dashboard_ledger(**period))
    usage_by_pool = dashboard_usage_by_pool(**period)
    usage_total = {name: sum(row[name] or 0 for row in usage_by_pool) for name in ("records", *USAGE_COUNTER_NAMES)}
    usage_days = dashboard_usage_by_day(**period)
    empty_usage = dict.fromkeys(("records", *USAGE_COUNTER_NAMES), 0)
    return {
        "date_from": date_from,
        "date_to": date_to,
        "days": days,
        "ledger": ledger,
        "drops": _drop_totals(ledger),
        "usage_by_pool": usage_by_pool,
        "usage_total": usage_total,
        "usage_by_day": [{"day": day, **usage_days.get(day, empty_usage)} for day in days],
        "partners": dashboard_top_federation_partners(**period, limit=TOP_PARTNERS),
        "error_codes": dashboard_error_codes(**period, limit=TOP_ERROR_CODES),
        "scrubbed": scrubbed_total(**period),
    }


def dashboard_build(*, tenant: Tenant, date_from: date, date_to: date) -> Dashboard:
    period = {"tenant": tenant, "date_from": date_from, "date_to": date_to}
    return Dashboard(
        tenant=tenant,
        policy=_policy_summary(tenant),
        policy_changes=[(entry, policy_change_words(entry)) for entry in dashboard_policy_changes(**period)],
        **_period_counts(**period),
    )


VERTICAL_LINES = gettext_noop("Vertical lines mark policy changes.")


def _outcome_chart(dashboard: Dashboard, category: Category) -> dict:
    index = {day: position for position, day in enumerate(dashboard.days)}
    values = {outcome: [0] * len(dashboard.days) for outcome in ("accepted", "dropped", "rejected")}
    for row in dashboard.ledger:
        if row.category == category:
            for outcome, series in values.items():
                series[index[row.day]] += getattr(row, outcome)
    label = category_words(category)
    totals = {outcome: sum(series) for outcome, series in values.items()}
    counted = {
        "accepted": ngettext("%(count)s accepted", "%(count)s accepted", totals["accepted"]),
        "dropped": ngettext("%(count)s dropped by policy", "%(count)s dropped by policy", totals["dropped"]),
        "rejected": ngettext("%(count)s rejected", "%(count)s rejected", totals["rejected"]),
    }
    description = " ".join(
        [
            # Translators: e.g. "Usage records per day from 2026-03-01 to 2026-03-30: 1,200 accepted, 3 dropped
            # by policy, 0 rejected."
            gettext("%(category)s records per day from %(from)s to %(to)s: %(accepted)s, %(dropped)s, %(rejected)s.")
            % {
                "category": label,
                "from": charts.day_label(dashboard.date_from),
                "to": charts.day_label(dashboard.date_to),
                **{
                    outcome: words % {"count": charts.number_label(totals[outcome])}
                    for outcome, words in counted.items()
                },
            },
            gettext(VERTICAL_LINES),
        ]
    )
    return {
        "title": gettext("%(category)s: accepted, dropped and rejected records per day") % {"category": label},
        "svg": charts.stacked_bar_chart(
            chart_id=f"chart-{category}",
            title=gettext("%(category)s records per day") % {"category": label},
            description=description,
            days=dashboard.days,
            series=[
                charts.Series(str(Outcome.ACCEPTED.label), values["accepted"], "series-accepted"),
                charts.Series(str(Outcome.DROPPED.label), values["dropped"], "series-dropped"),
                charts.Series(gettext("Rejected"), values["rejected"], "series-rejected"),
            ],
            markers=dashboard.markers,
        ),
    }


def _panels_chart(
    *, chart_id: str, heading: str, title: str, what: str, days, rows, totals, labels: dict[str, str], markers, marks=""
) -> dict:
    """A small-multiples chart, one panel per figure of `labels` (name -> words), each on its own scale,
    with the period's totals in its screen-reader description. `what` and `marks` are whole sentences
    in the language shown (`marks` empty or starting with a space)."""
    series = [
        charts.Series(label, [row[name] or 0 for row in rows], f"series-{position}")
        for position, (name, label) in enumerate(labels.items(), start=1)
    ]
    figures = pgettext("separator of a list", ", ").join(
        # Translators: a figure of a chart and its total over the period, e.g. "Call minutes 30,000".
        pgettext("figure and its total", "%(figure)s %(total)s")
        % {"figure": label, "total": charts.number_label(totals[name])}
        for name, label in labels.items()
    )
    description = (
        " ".join(
            [
                # Translators: what a chart shows (a whole phrase) and the totals of its figures, e.g. "Stored
                # usage per day from 2026-03-01 to 2026-03-30, all pools: IMs sent 12, Call minutes 30".
                pgettext("a chart's contents and its figures", "%(what)s: %(figures)s.")
                % {"what": what, "figures": figures},
                gettext("One panel per figure, each on its own scale."),
            ]
        )
        + marks
    )
    return {
        "title": heading,
        "svg": charts.small_multiples_chart(
            chart_id=chart_id, title=title, description=description, days=days, series=series, markers=markers
        ),
    }


def _usage_chart(dashboard: Dashboard) -> dict:
    return _panels_chart(
        chart_id="chart-usage-sums",
        heading=gettext("Stored usage per day (each counter on its own scale)"),
        title=gettext("Stored usage per day"),
        what=gettext("Stored usage per day from %(from)s to %(to)s, all pools")
        % {"from": charts.day_label(dashboard.date_from), "to": charts.day_label(dashboard.date_to)},
        days=dashboard.days,
        rows=dashboard.usage_by_day,
        totals=dashboard.usage_total,
        labels={counter.name: counter.label for counter in USAGE_COUNTERS},
        markers=dashboard.markers,
        marks=" " + gettext(VERTICAL_LINES),
    )


def _admin_context(request: HttpRequest) -> dict:
    return admin.site.each_context(request)


def _resolve(request: HttpRequest) -> tuple[Tenant, DashboardForm]:
    """The tenant asked for (404 if the user may not see it) and the bound form of the period."""
    tenant = tenant_for_viewer(viewer=request.user, slug=request.GET.get("tenant", "").strip())
    # A tenant admin sees one tenant: no picker; support staff and superusers pick any.
    tenants = None
    if admin_tenant_id(request.user) is None:
        tenants = list(Tenant.objects.visible_to(request.user).order_by("slug"))
    data = request.GET.copy()
    data["tenant"] = tenant.slug
    form = DashboardForm(data, tenants=tenants, today=timezone.now().date())
    return tenant, form


@never_cache
@login_required
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    tenant, form = _resolve(request)
    context = {
        **_admin_context(request),
        "title": gettext("Telemetry dashboard: %(tenant)s") % {"tenant": tenant.name},
        "tenant": tenant,
        "form": form,
        # Support staff see the policy page read-only; only the tenant's own admin may change it.
        "can_change_policy": admin_tenant_id(request.user) == tenant.pk,
    }
    if not form.is_valid():
        return render(request, "dashboard/dashboard.html", context, status=400)
    dashboard = dashboard_build(tenant=tenant, date_from=form.cleaned_data["from"], date_to=form.cleaned_data["to"])
    # Show the period in effect (the defaults included) in the form's fields.
    shown = {"tenant": tenant.slug, "from": str(dashboard.date_from), "to": str(dashboard.date_to)}
    context["form"] = DashboardForm(shown, tenants=form.tenants, today=form.today)
    context.update(
        dashboard=dashboard,
        outcome_charts=[_outcome_chart(dashboard, category) for category in Category],
        usage_chart=_usage_chart(dashboard),
        usage_labels=[counter.label for counter in USAGE_COUNTERS],
        export_query=f"tenant={tenant.slug}&from={dashboard.date_from}&to={dashboard.date_to}",
    )
    return render(request, "dashboard/dashboard.html", context)


def _period_csv_sections(dashboard: "Dashboard | AllTenantsDashboard") -> list[tuple[str, list, list[list]]]:
    """The tables of a period that both dashboards show, as CSV sections (title, header, rows); over
    every tenant, each pool with its tenant."""
    usage_header = [counter.label for counter in USAGE_COUNTERS]
    every_tenant = isinstance(dashboard, AllTenantsDashboard)
    pool_header = [gettext("Pool"), gettext("Tenant")] if every_tenant else [gettext("Pool")]

    def pool(row: dict) -> list:
        return [row["pool__fqdn"], row["tenant__slug"]] if every_tenant else [row["pool__fqdn"]]

    return [
        (
            gettext("Records per day"),
            [
                gettext("Day"),
                gettext("Category"),
                Outcome.ACCEPTED.label,
                Outcome.DROPPED.label,
                gettext("Rejected"),
                gettext("Duplicates"),
                gettext("Why dropped"),
            ],
            [
                [row.day, row.category_label, row.accepted, row.dropped, row.rejected, row.duplicates, row.why_dropped]
                for row in dashboard.ledger
            ],
        ),
        (
            Outcome.DROPPED.label,
            [gettext("Category"), gettext("Reason"), gettext("Records")],
            [list(drop) for drop in dashboard.drops],
        ),
        (
            gettext("Usage by pool"),
            [*pool_header, gettext("Usage records"), *usage_header],
            [[*pool(row), row["records"], *usage_counters(row)] for row in dashboard.usage_by_pool]
            + [
                [
                    gettext("Total"),
                    *[""] * (len(pool_header) - 1),
                    dashboard.usage_total["records"],
                    *usage_counters(dashboard.usage_total),
                ]
            ],
        ),
        (
            gettext("Usage per day"),
            [gettext("Day"), gettext("Usage records"), *usage_header],
            [[row["day"], row["records"], *usage_counters(row)] for row in dashboard.usage_by_day],
        ),
        (
            gettext("Top federation partners"),
            [gettext("Federation partner"), gettext("Usage records")],
            [[r["partner"], r["total"]] for r in dashboard.partners],
        ),
        (
            gettext("Error reports by error code"),
            [gettext("Error code"), gettext("Error reports")],
            [[r["error_code"], r["total"]] for r in dashboard.error_codes],
        ),
        (gettext("Personal values replaced in free text"), [gettext("Values replaced")], [[dashboard.scrubbed]]),
    ]


def _period_header() -> list[str]:
    return [pgettext("start of a period", "From"), pgettext("end of a period", "To")]


def _csv_lines(sections: list[tuple[str, list, list[list]]]) -> list[list]:
    """Sections one after another: a title row, a header row, the rows, a blank line."""
    lines: list[list] = []
    for title, header, rows in sections:
        lines += [[title], header, *rows, []]
    return lines


def dashboard_csv_rows(dashboard: Dashboard) -> list[list]:
    """The page's tables, one section after another."""
    return _csv_lines(
        [
            (
                gettext("Tenant"),
                [gettext("Tenant"), *_period_header()],
                [[dashboard.tenant.slug, dashboard.date_from, dashboard.date_to]],
            ),
            (
                gettext("Current policy"),
                [gettext("Setting"), gettext("Value")],
                [list(line) for line in dashboard.policy],
            ),
            *_period_csv_sections(dashboard),
            (
                gettext("Policy changes"),
                [gettext("When (UTC)"), gettext("Change")],
                [[entry.created_at.strftime("%Y-%m-%d %H:%M"), words] for entry, words in dashboard.policy_changes],
            ),
        ]
    )


def _period_refused(form) -> HttpResponse:
    """A CSV export's answer to a period it cannot read: the form's messages, in one plain line."""
    messages = [message for errors in form.errors.values() for message in errors]
    return HttpResponse(" ".join(messages), status=400, content_type="text/plain; charset=utf-8")


@never_cache
@login_required
@require_GET
def dashboard_export_view(request: HttpRequest) -> HttpResponse:
    tenant, form = _resolve(request)
    if not form.is_valid():
        return _period_refused(form)
    dashboard = dashboard_build(tenant=tenant, date_from=form.cleaned_data["from"], date_to=form.cleaned_data["to"])
    filename = f"dashboard-{tenant.slug}-{dashboard.date_from}-{dashboard.date_to}.csv"
    return csv_attachment(dashboard_csv_rows(dashboard), filename=filename)


# --- The all-tenants dashboard: support staff and superusers only (a tenant admin gets a 404, as for any
# page that is not theirs). The same count tables summed over every tenant, and the tenants ranked.

TOP_TENANTS = 20
# A tenant's volume: the records it sent, whatever became of them (a resent duplicate is not more traffic).
RECEIVED = [Outcome.ACCEPTED, Outcome.DROPPED, Outcome.REJECTED]


@dataclass
class AllTenantsDashboard:
    """What the all-tenants page shows; the charts read it as they read a Dashboard (no policy markers:
    each tenant changes its own policy)."""

    date_from: date
    date_to: date
    days: list[date]
    ledger: list[LedgerRow]
    drops: list[tuple[str, str, int]]
    usage_by_pool: list[dict]
    usage_total: dict
    usage_by_day: list[dict]
    partners: list[dict]
    error_codes: list[dict]
    scrubbed: int
    tenants_by_volume: list[dict]
    tenants_by_drops: list[dict]
    census_by_day: list[dict]
    census_total: dict
    markers: list[charts.Marker] = field(default_factory=list)


# The census sums' words (CensusDailySum, selectors.CENSUS_SUMMED), on the page, its chart and the CSV.
CENSUS_LABELS = {
    "records": gettext_lazy("Census records"),
    "sign_in_attempts": gettext_lazy("Sign-in attempts"),
    "sign_in_failures": gettext_lazy("Sign-in failures"),
}
# In English here (tests and callers compare it as a plain string); the page shows gettext(CENSUS_NOTE).
CENSUS_NOTE = gettext_noop(
    "Census names no tenant: these figures cover the whole installation. A census record is counted here "
    "once the maintenance (maintain_telemetry) has moved it from the staging table into the census table, "
    "on the day it is dated."
)


def all_tenants_dashboard_build(*, date_from: date, date_to: date) -> AllTenantsDashboard:
    period = {"date_from": date_from, "date_to": date_to}
    counts = _period_counts(tenant=None, **period)
    census_days = census_sums_by_day(**period)
    empty_census = dict.fromkeys(CENSUS_SUMMED, 0)
    census_by_day = [{"day": day, **census_days.get(day, empty_census)} for day in counts["days"]]
    return AllTenantsDashboard(
        tenants_by_volume=tenants_ranked_by_records(outcomes=RECEIVED, **period, limit=TOP_TENANTS),
        tenants_by_drops=tenants_ranked_by_records(outcomes=[Outcome.DROPPED], **period, limit=TOP_TENANTS),
        census_by_day=census_by_day,
        census_total={name: sum(row[name] for row in census_by_day) for name in CENSUS_SUMMED},
        **counts,
    )


def _census_chart(dashboard: AllTenantsDashboard) -> dict:
    return _panels_chart(
        chart_id="chart-census-sums",
        heading=gettext("Census records and their sign-ins per day (each on its own scale)"),
        title=gettext("Census per day"),
        what=gettext("Census per day from %(from)s to %(to)s, the whole installation")
        % {"from": charts.day_label(dashboard.date_from), "to": charts.day_label(dashboard.date_to)},
        days=dashboard.days,
        rows=dashboard.census_by_day,
        totals=dashboard.census_total,
        labels={name: CENSUS_LABELS[name] for name in CENSUS_SUMMED},
        markers=[],
    )


@never_cache
@login_required
@require_GET
def all_tenants_dashboard_view(request: HttpRequest) -> HttpResponse:
    if visible_tenant_ids(request.user) is not None:
        raise Http404("No such page.")
    form = DashboardForm(request.GET, tenants=None, today=timezone.now().date())
    context = {**_admin_context(request), "title": gettext("Telemetry dashboard: all tenants"), "form": form}
    if not form.is_valid():
        return render(request, "dashboard/all_tenants.html", context, status=400)
    dashboard = all_tenants_dashboard_build(date_from=form.cleaned_data["from"], date_to=form.cleaned_data["to"])
    shown = {"from": str(dashboard.date_from), "to": str(dashboard.date_to)}
    context.update(
        form=DashboardForm(shown, tenants=None, today=form.today),
        dashboard=dashboard,
        outcome_charts=[_outcome_chart(dashboard, category) for category in Category],
        usage_chart=_usage_chart(dashboard),
        usage_labels=[counter.label for counter in USAGE_COUNTERS],
        census_chart=_census_chart(dashboard),
        census_note=gettext(CENSUS_NOTE),
        period_query=f"from={dashboard.date_from}&to={dashboard.date_to}",
        top_tenants=TOP_TENANTS,
    )
    return render(request, "dashboard/all_tenants.html", context)


def all_tenants_csv_rows(dashboard: AllTenantsDashboard) -> list[list]:
    """The all-tenants page's tables, one section after another, as the tenant CSV has them."""
    ranking_header = [gettext("Rank"), gettext("Tenant"), gettext("Name")]

    def ranked(rows: list[dict]) -> list[list]:
        return [[rank, row["tenant__slug"], row["tenant__name"], row["total"]] for rank, row in enumerate(rows, 1)]

    return _csv_lines(
        [
            (gettext("All tenants"), _period_header(), [[dashboard.date_from, dashboard.date_to]]),
            (
                gettext("Tenants by volume"),
                [*ranking_header, gettext("Records received")],
                ranked(dashboard.tenants_by_volume),
            ),
            (gettext("Tenants by drops"), [*ranking_header, Outcome.DROPPED.label], ranked(dashboard.tenants_by_drops)),
            *_period_csv_sections(dashboard),
            (
                gettext("Census per day (the whole installation; counted when the maintenance moves staged records)"),
                [gettext("Day"), *(CENSUS_LABELS[name] for name in CENSUS_SUMMED)],
                [[row["day"], *(row[name] for name in CENSUS_SUMMED)] for row in dashboard.census_by_day]
                + [[gettext("Total"), *(dashboard.census_total[name] for name in CENSUS_SUMMED)]],
            ),
        ]
    )


@never_cache
@login_required
@require_GET
def all_tenants_dashboard_export_view(request: HttpRequest) -> HttpResponse:
    if visible_tenant_ids(request.user) is not None:
        raise Http404("No such page.")
    form = DashboardForm(request.GET, tenants=None, today=timezone.now().date())
    if not form.is_valid():
        return _period_refused(form)
    dashboard = all_tenants_dashboard_build(date_from=form.cleaned_data["from"], date_to=form.cleaned_data["to"])
    filename = f"dashboard-all-tenants-{dashboard.date_from}-{dashboard.date_to}.csv"
    return csv_attachment(all_tenants_csv_rows(dashboard), filename=filename)

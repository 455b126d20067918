"""Read-only record browsers for support staff and superusers (tenant admins see counts, not records).

The record tables hold tens of millions of rows, so nothing here counts them: pages come from a
look-ahead query (one row more than a page tells whether there is a next one), the total shown is the
planner's estimate on PostgreSQL, and lists are ordered and filtered only by what the indexes in
telemetry/models.py serve. Lists run newest first by timestamp; the timestamp column sorts either way.
"""

import csv
import datetime as dt
import operator
from functools import reduce

from django.contrib import admin
from django.contrib.admin.filters import RelatedFieldListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import label_for_field, lookup_field
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q
from django.db.models.functions import Upper
from django.db.models.lookups import Exact
from django.http import HttpResponseRedirect, StreamingHttpResponse
from django.urls import path, reverse
from django.utils import translation
from django.utils.functional import lazy
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy, ngettext

from portal.admin_paging import CountFreeListMixin
from telemetry.charts import number_label
from telemetry.csv_export import safe_cell
from telemetry.models import CensusRecord, ErrorCodeDailyCount, ErrorReport, UsageRecord
from telemetry.names import fqdn_key
from telemetry.pseudonymize import mask_pseudonym
from telemetry.records import CENSUS_COLUMNS, USAGE_COUNTER_NAMES, USAGE_COUNTERS
from tenants.admin_base import FindUserByIdMixin, PortalModelAdmin, VisibleTenantFilter, actor_of
from tenants.models import Pool, Tenant
from tenants.scoping import admin_tenant_id
from tenants.services import records_export_audit

# An export reads at most this many rows (a streamed file of about 20 MB); the page and the file say so.
EXPORT_ROW_LIMIT = 100_000


def _export_limit_note() -> str:
    return ngettext(
        "Exports stop at %(rows)s row, newest first: narrow the list to export the rest.",
        "Exports stop at %(rows)s rows, newest first: narrow the list to export the rest.",
        EXPORT_ROW_LIMIT,
    ) % {"rows": number_label(EXPORT_ROW_LIMIT)}


def _export_truncated_note() -> str:
    return ngettext(
        "Stopped at %(rows)s row: more match. Narrow the list (a date range, a tenant) to export the rest.",
        "Stopped at %(rows)s rows: more match. Narrow the list (a date range, a tenant) to export the rest.",
        EXPORT_ROW_LIMIT,
    ) % {"rows": number_label(EXPORT_ROW_LIMIT)}


# Worded and numbered in the language active where they are shown.
EXPORT_LIMIT_NOTE = lazy(_export_limit_note, str)()
EXPORT_TRUNCATED_NOTE = lazy(_export_truncated_note, str)()
# The error-code filter offers the codes counted in the last days (any other can still be searched for).
ERROR_CODE_CHOICES_LIMIT = 200
ERROR_CODE_CHOICES_DAYS = 31


def error_code_is(code: str) -> Q:
    """Reports whose error code is `code` in any case: UPPER(error_code), as the error_code_upper_time
    index holds it, so that `signin_timeout` finds SIGNIN_TIMEOUT through the index."""
    return Q(Exact(Upper("error_code"), code.upper()))


# Column headers in the portal's words where a field's own name reads wrong ("Os name", "Ims sent"):
# changing the fields' verbose_name would need a migration for a label.
COLUMN_LABELS = {
    "os_name": gettext_lazy("OS name"),
    "ip_network": gettext_lazy("IP network"),
    **{counter.name: counter.label for counter in USAGE_COUNTERS},
}


def labelled(name: str):
    """The field `name` as a list or detail column headed by its label in COLUMN_LABELS, if it has one."""
    if name not in COLUMN_LABELS:
        return name

    def column(obj):
        return getattr(obj, name)

    column.__name__ = name
    return admin.display(description=COLUMN_LABELS[name])(column)


class DateRangeFilter(admin.ListFilter):
    """Records from one UTC day to another (either end may be left open): a range on timestamp, which
    every time-order index serves as the range of its timestamp column."""

    title = gettext_lazy("date (UTC)")
    template = "admin/telemetry/date_range_filter.html"
    from_var = "from_day"
    to_var = "to_day"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        self.days: dict[str, dt.date | None] = {}
        for name in (self.from_var, self.to_var):
            values = params.pop(name, [""])
            text = (values[-1] if isinstance(values, list) else values).strip()
            try:
                self.days[name] = dt.date.fromisoformat(text) if text else None
            except ValueError as error:
                raise IncorrectLookupParameters(f"{name}: not a date") from error

    def has_output(self):
        return True

    def expected_parameters(self):
        return [self.from_var, self.to_var]

    def queryset(self, request, queryset):
        # The same range on `day` (a record's day is the UTC date of its timestamp): on PostgreSQL it
        # restricts the query to those days' partitions before any index is read.
        first, last = self.days[self.from_var], self.days[self.to_var]
        if first:
            queryset = queryset.filter(
                day__gte=first, timestamp__gte=dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)
            )
        if last:
            after = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
            queryset = queryset.filter(day__lte=last, timestamp__lt=after)
        return queryset

    def choices(self, changelist):
        kept = {self.from_var, self.to_var, PAGE_VAR}
        yield {
            "from_var": self.from_var,
            "to_var": self.to_var,
            "from_value": self.days[self.from_var] or "",
            "to_value": self.days[self.to_var] or "",
            # The form carries the other filters, the search and the sort along.
            "hidden": [
                (name, value)
                for name, values in changelist.filter_params.items()
                if name not in kept
                for value in values
            ],
            "clear_query_string": changelist.get_query_string(remove=[*kept]),
            "active": any(self.days.values()),
        }


class VisiblePoolFilter(RelatedFieldListFilter):
    """The pool filter lists only the pools of the tenants the viewer may see (as VisibleTenantFilter)."""

    def field_choices(self, field, request, model_admin):
        pools = Pool.objects.visible_to(request.user).select_related("tenant").order_by("fqdn")
        return [(pool.pk, f"{pool.fqdn} ({pool.tenant})") for pool in pools]


class ErrorCodeFilter(admin.SimpleListFilter):
    """The error codes seen lately, from the small daily count table (never from the records)."""

    title = gettext_lazy("error code")
    parameter_name = "error_code"

    def lookups(self, request, model_admin):
        since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=ERROR_CODE_CHOICES_DAYS)
        codes = (
            ErrorCodeDailyCount.objects.visible_to(request.user)
            .filter(day__gte=since)
            .order_by("error_code")
            .values_list("error_code", flat=True)
            .distinct()[:ERROR_CODE_CHOICES_LIMIT]
        )
        return [(code, code) for code in codes]

    def has_output(self):
        # Shown (and so applied) even when no code was counted lately: an error_code in the address
        # must never be dropped silently, listing every report instead.
        return True

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(error_code_is(self.value()))
        return queryset


class _Echo:
    def write(self, value):
        return value


# The words an export's audit entry keeps for its filters (stored in English: see export_filter_words).
EXPORT_FROM = gettext_lazy("from")
EXPORT_TO = gettext_lazy("to")
EXPORT_SEARCH = gettext_lazy("search")
EXPORT_SEARCH_NOT_KEPT = gettext_lazy("(its text is not kept)")


def export_filter_words(request, changelist) -> dict[str, str]:
    """The filters of an export as the list's sidebar shows them, for its audit entry: a looked-up
    user only as the sidebar masks them, and a search term never (it may be a person's ID).

    The words are English whatever the viewer's language: the audit log stores no translated text
    (its sentence is translated where it is shown)."""
    with translation.override("en"):
        return _export_filter_words(request, changelist)


def _export_filter_words(request, changelist) -> dict[str, str]:
    words = {}
    for spec in changelist.filter_specs:
        if isinstance(spec, DateRangeFilter):
            ends = {spec.from_var: str(EXPORT_FROM), spec.to_var: str(EXPORT_TO)}
            words.update({ends[name]: day.isoformat() for name, day in spec.days.items() if day is not None})
            continue
        if not any(name in request.GET for name in spec.expected_parameters()):
            continue
        shown = [str(choice["display"]) for choice in spec.choices(changelist) if choice.get("selected")]
        if shown:
            words[str(spec.title)] = ", ".join(shown)
    if changelist.query:
        words[str(EXPORT_SEARCH)] = str(EXPORT_SEARCH_NOT_KEPT)
    return words


def _export_tenant(request, changelist) -> Tenant | None:
    """The one tenant an export is limited to: a tenant admin's own, or the tenant support staff
    filtered on; None when it may hold several tenants' records."""
    tenant_id = admin_tenant_id(request.user)
    if tenant_id is None:
        tenant_id = request.GET.get("tenant__id__exact")
    if tenant_id is None or not str(tenant_id).isdigit():
        return None
    return Tenant.objects.visible_to(request.user).filter(pk=tenant_id).first()


class RecordBrowserAdmin(CountFreeListMixin, PortalModelAdmin):
    """Read-only twice over: no role may add, change or delete records (PortalModelAdmin's
    permissions), and every field of a record's page is read-only."""

    tenant_admin_may_view = False
    # Served by the *_time indexes of telemetry/models.py (read backwards for oldest first).
    ordering = ("-timestamp", "-id")
    index_sorts = {"timestamp": ("-timestamp", "-id")}
    sortable_by = ("timestamp",)
    change_list_template = "admin/telemetry/record_browser_change_list.html"
    actions = None
    detail_fields: tuple[str, ...] = ()
    # The columns of the CSV export: the list's, unless a browser leaves some out of its list for width.
    export_fields: tuple[str, ...] = ()

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        name = f"{self.opts.app_label}_{self.opts.model_name}_export"
        return [path("export.csv", export, name=name), *super().get_urls()]

    def changelist_view(self, request, extra_context=None):
        export_url = reverse(
            f"admin:{self.opts.app_label}_{self.opts.model_name}_export", current_app=self.admin_site.name
        )
        query = request.GET.copy()
        query.pop(PAGE_VAR, None)
        context = {
            "export_url": f"{export_url}?{query.urlencode()}" if query else export_url,
            "export_limit_note": EXPORT_LIMIT_NOTE,
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

    def export_view(self, request):
        """What the list shows (its filters, search and order), as a CSV streamed row by row."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            changelist_url = reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist", current_app=self.admin_site.name
            )
            return HttpResponseRedirect(changelist_url)
        # In English, as every audit entry is stored (see export_filter_words).
        with translation.override("en"):
            records = str(self.opts.verbose_name_plural)
        records_export_audit(
            tenant=_export_tenant(request, changelist),
            actor=actor_of(request),
            records=records,
            filters=export_filter_words(request, changelist),
        )
        writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
        # The file is written as it streams, after this view has returned: in the request's language.
        language = translation.get_language()
        rows = (
            writer.writerow([safe_cell(cell) for cell in row])
            for row in self.export_rows(changelist.queryset, language=language)
        )
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.opts.model_name}s.csv"'
        return response

    def export_rows(self, queryset, *, language: str | None = None):
        """The header, then each row's list columns (pseudonyms masked as in the list), then, when more
        rows match than the bound, a last line that says so; the words in `language` (default: the
        one active when the rows are read)."""
        columns = self.export_fields or self.list_display
        with translation.override(language or translation.get_language()):
            yield [str(capfirst(label_for_field(column, self.model, self))) for column in columns]
            # The bound is read as one row more: whether it was reached is known without counting.
            for number, record in enumerate(queryset[: EXPORT_ROW_LIMIT + 1].iterator(chunk_size=2000)):
                if number == EXPORT_ROW_LIMIT:
                    yield [str(EXPORT_TRUNCATED_NOTE)]
                    return
                yield [self.export_value(record, column) for column in columns]

    def export_value(self, record, column):
        field, _attr, value = lookup_field(column, record, self)
        if getattr(field, "flatchoices", None):
            label = dict(field.flatchoices).get(value)
            return value if label is None else str(label)
        if isinstance(value, dt.datetime):
            return value.isoformat()
        if isinstance(value, Model):
            return str(value)
        return value

    def get_queryset(self, request):
        return self.scoped_queryset(request).order_by(*self.ordering)

    def scoped_queryset(self, request):
        # Census names no tenant: it is the installation's, and only support staff and superusers
        # may open a record browser at all.
        return self.model.objects.all()

    def get_fields(self, request, obj=None):
        return self.detail_fields

    def get_readonly_fields(self, request, obj=None):
        return self.detail_fields

    def exact_search_alternatives(self, term: str) -> list[Q]:
        """The exact matches a search term may mean, each on an indexed column."""
        return []

    def get_search_results(self, request, queryset, search_term):
        """Rows matching any exact alternative of the term, found without walking the table.

        An OR of the alternatives, ordered by (-timestamp, -id), lets PostgreSQL walk the whole time index
        looking for a match when few or none exist (seconds on ten million rows). Each alternative is
        probed on its own first, an EXISTS that is one index lookup, and only those that match are
        kept: a term that matches nothing costs a few index lookups and no scan.
        """
        term = search_term.strip()
        if not term:
            return queryset, False
        found = [match for match in self.exact_search_alternatives(term) if queryset.filter(match).exists()]
        if not found:
            return queryset.none(), False
        return queryset.filter(reduce(operator.or_, found)), False


def pool_match(term: str) -> list[Q]:
    """The pools a term names by FQDN (a lookup in the small pools table), as a record filter."""
    pool_ids = list(Pool.objects.all_tenants().filter(fqdn=fqdn_key(term)).values_list("pk", flat=True))
    return [Q(pool_id__in=pool_ids)] if pool_ids else []


class TenantRecordBrowserAdmin(RecordBrowserAdmin):
    list_filter = (("tenant", VisibleTenantFilter), ("pool", VisiblePoolFilter), "client", DateRangeFilter)
    list_select_related = ("tenant", "pool")

    def scoped_queryset(self, request):
        # Support staff and superusers see every tenant; the boundary still decides it.
        return self.model.objects.visible_to(request.user)

    @admin.display(description=gettext_lazy("Pool"))
    def pool_fqdn(self, obj):
        return obj.pool.fqdn


@admin.register(ErrorReport)
class ErrorReportAdmin(FindUserByIdMixin, TenantRecordBrowserAdmin):
    change_list_template = "admin/telemetry/errorreport_change_list.html"
    list_filter = (*TenantRecordBrowserAdmin.list_filter, ErrorCodeFilter)
    list_display = (
        "timestamp",
        "tenant",
        "pool_fqdn",
        "client",
        "error_code",
        "user",
        "message_direction",
        labelled("ip_network"),
        "crash",
    )
    detail_fields = (
        "record_id",
        "tenant",
        "pool_fqdn",
        "day",
        "timestamp",
        "client",
        "user",
        "sip_uri",
        labelled("ip_network"),
        "message_direction",
        "conversation_state",
        "conversation_thread_id",
        "error_code",
        "error_log",
        labelled("os_name"),
        "crash",
    )
    search_fields = ("error_code",)
    search_help_text = gettext_lazy(
        "An exact conversation thread ID, error code (in any case) or pool FQDN. "
        "To find a user's reports, use the user ID form above."
    )
    found_user_text = gettext_lazy("Showing the error reports of the user you looked up:")
    no_user_text = gettext_lazy("No error reports from a user with that ID.")

    @admin.display(description=gettext_lazy("User"))
    def user(self, obj):
        return mask_pseudonym(obj.user_hash)

    @admin.display(description=gettext_lazy("SIP URI"))
    def sip_uri(self, obj):
        return mask_pseudonym(obj.sip_uri_hash)

    def exact_search_alternatives(self, term):
        # User IDs are not among them: they are looked up through FindUserByIdMixin's POST form, so
        # that none ends up in a URL.
        return [Q(conversation_thread_id=term), error_code_is(term), *pool_match(term)]


@admin.register(UsageRecord)
class UsageRecordAdmin(TenantRecordBrowserAdmin):
    # Every counter but the successful meeting joins (on the record's page and in the export): with
    # it, eleven columns do not fit beside the filters at 1280 pixels.
    list_display = (
        "timestamp",
        "tenant",
        "pool_fqdn",
        "client",
        *(labelled(name) for name in USAGE_COUNTER_NAMES if name != "meeting_join_successes"),
        "federation_partner",
    )
    export_fields = (
        "timestamp",
        "tenant",
        "pool_fqdn",
        "client",
        *map(labelled, USAGE_COUNTER_NAMES),
        "federation_partner",
    )
    detail_fields = ("record_id", "tenant", "pool_fqdn", "day", "timestamp", "client", *export_fields[4:])
    # Not by record ID: no page needed it enough to keep a random-key index on every usage record
    # (telemetry/models.py, the index diet). Whether a record arrived is the ledger's to say.
    search_fields = ("pool",)
    search_help_text = gettext_lazy("An exact pool FQDN.")

    def exact_search_alternatives(self, term):
        return pool_match(term)


@admin.register(CensusRecord)
class CensusRecordAdmin(RecordBrowserAdmin):
    list_display = (
        "timestamp",
        "client",
        "app_name",
        labelled("os_name"),
        "os_version",
        "user_language",
        "device_model",
        "user",
    )
    # Every stored column but the random id, the pseudonym masked.
    detail_fields = tuple(
        "user" if column == "user_hash" else labelled(column) for column in CENSUS_COLUMNS if column != "id"
    )
    list_filter = ("client", DateRangeFilter)
    search_fields = ("app_name",)
    search_help_text = gettext_lazy(
        "An exact app name, OS name, language, OS version, or OS name and version (e.g. “Windows 10.0.19045”)."
    )

    @admin.display(description=gettext_lazy("User"))
    def user(self, obj):
        return mask_pseudonym(obj.user_hash)

    def exact_search_alternatives(self, term):
        alternatives = [Q(app_name=term), Q(os_name=term), Q(os_version=term), Q(user_language=term)]
        os_name, _, os_version = term.rpartition(" ")
        if os_name and os_version:
            alternatives.append(Q(os_name=os_name, os_version=os_version))
        return alternatives

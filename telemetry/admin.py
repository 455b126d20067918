"""Read-only record browsers for support staff and superusers (tenant admins see counts, not records).

The record tables hold tens of millions of rows, so nothing here counts them: pages come from a
look-ahead query (one row more than a page tells whether there is a next one), the total shown is the
planner's estimate on PostgreSQL, and lists are ordered and filtered only by what the indexes in
telemetry/models.py serve.
"""

import contextlib
import operator
import uuid
from functools import cached_property, reduce

from django.contrib import admin
from django.contrib.admin import ShowFacets
from django.contrib.admin.views.main import PAGE_VAR, ChangeList
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q

from telemetry.models import CensusRecord, ErrorReport, UsageRecord
from telemetry.pseudonymize import mask_pseudonym
from tenants.admin_base import FindUserByIdMixin, PortalModelAdmin, VisibleTenantFilter
from tenants.models import Pool
from tenants.services import fqdn_key

# How deep next/previous paging may go: OFFSET reads every skipped row, so deeper pages are refused
# (narrow the list with a filter or a search instead).
MAX_PAGES = 500


def estimated_row_count(model) -> int | None:
    """The planner's estimate of a table's rows on PostgreSQL (no scan); None where unknown."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [model._meta.db_table])
        row = cursor.fetchone()
    # -1 means never analyzed: no estimate yet.
    return row[0] if row and row[0] >= 0 else None


class LookaheadPaginator(Paginator):
    """A paginator that never counts: it reads the requested page plus one row.

    `count` is what has been seen so far (the rows before this page, this page, and one more if
    there is one), which is all Django's change list needs to offer "next" and to validate the page.
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, *, page_number=1):
        super().__init__(object_list, per_page, 0, allow_empty_first_page)
        self.page_number = max(page_number, 1)

    @cached_property
    def _window(self) -> tuple[int, list]:
        offset = (self.page_number - 1) * self.per_page
        if self.page_number > MAX_PAGES:
            return offset, []
        return offset, list(self.object_list[offset : offset + self.per_page + 1])

    @cached_property
    def count(self) -> int:
        offset, rows = self._window
        return offset + len(rows)

    @property
    def has_next(self) -> bool:
        _offset, rows = self._window
        return len(rows) > self.per_page

    def page(self, number):
        number = self.validate_number(number)
        if number != self.page_number:
            return super().page(number)
        _offset, rows = self._window
        return self._get_page(rows[: self.per_page], number, self)


class RecordChangeList(ChangeList):
    """Next/previous paging, a fixed index-backed order and, when unfiltered, an estimated total."""

    def get_ordering(self, request, queryset):
        return list(self.model_admin.ordering)

    @property
    def has_next_page(self) -> bool:
        return self.paginator.has_next

    @property
    def next_page_query(self) -> str:
        return self.get_query_string({PAGE_VAR: self.page_num + 1})

    @property
    def previous_page_query(self) -> str:
        return self.get_query_string({PAGE_VAR: self.page_num - 1})

    @property
    def estimated_total(self) -> int | None:
        if self.query or self.has_active_filters:
            return None
        return estimated_row_count(self.model)


class RecordBrowserAdmin(PortalModelAdmin):
    tenant_admin_may_view = False
    ordering = ("-day", "-id")
    sortable_by = ()
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_max_show_all = 0
    list_per_page = 100
    actions = None
    paginator = LookaheadPaginator

    def get_changelist(self, request, **kwargs):
        return RecordChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = int(request.GET.get(PAGE_VAR, 1))
        except ValueError:
            page_number = 1
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, page_number=page_number)

    def get_queryset(self, request):
        queryset = self.model.objects.all()
        if hasattr(queryset, "visible_to"):
            # Support staff and superusers see every tenant; the boundary still decides it.
            queryset = queryset.visible_to(request.user)
        return queryset.order_by(*self.ordering)

    def get_fields(self, request, obj=None):
        return self.detail_fields

    def exact_search_alternatives(self, term: str) -> list[Q]:
        """The exact matches a search term may mean, each on an indexed column."""
        return []

    def get_search_results(self, request, queryset, search_term):
        """Rows matching any exact alternative of the term, found without walking the table.

        An OR of the alternatives, ordered by (-day, -id), lets PostgreSQL walk the whole day index
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
    list_filter = (("tenant", VisibleTenantFilter), "client")
    list_select_related = ("tenant", "pool")

    @admin.display(description="Pool")
    def pool_fqdn(self, obj):
        return obj.pool.fqdn


@admin.register(ErrorReport)
class ErrorReportAdmin(FindUserByIdMixin, TenantRecordBrowserAdmin):
    list_display = (
        "timestamp",
        "tenant",
        "pool_fqdn",
        "client",
        "error_code",
        "user",
        "message_direction",
        "ip_network",
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
        "ip_network",
        "message_direction",
        "conversation_state",
        "conversation_thread_id",
        "error_code",
        "error_log",
        "os_name",
        "crash",
    )
    search_fields = ("error_code",)
    search_help_text = (
        "An exact conversation thread ID, error code or pool FQDN. "
        "To find a user's reports, use the user ID form above."
    )
    found_user_text = "Showing the error reports of the user you looked up:"
    no_user_text = "No error reports from a user with that ID."

    @admin.display(description="User")
    def user(self, obj):
        return mask_pseudonym(obj.user_hash)

    @admin.display(description="SIP URI")
    def sip_uri(self, obj):
        return mask_pseudonym(obj.sip_uri_hash)

    def exact_search_alternatives(self, term):
        # User IDs are not among them: they are looked up through FindUserByIdMixin's POST form, so
        # that none ends up in a URL.
        return [Q(conversation_thread_id=term), Q(error_code=term), *pool_match(term)]


@admin.register(UsageRecord)
class UsageRecordAdmin(TenantRecordBrowserAdmin):
    list_display = (
        "timestamp",
        "tenant",
        "pool_fqdn",
        "client",
        "ims_sent",
        "ims_received",
        "meeting_join_attempts",
        "meeting_join_successes",
        "call_minutes",
        "federation_partner",
    )
    detail_fields = ("record_id", "tenant", "pool_fqdn", "day", "timestamp", "client", *list_display[4:])
    search_fields = ("record_id",)
    search_help_text = "An exact pool FQDN or record ID."

    def exact_search_alternatives(self, term):
        alternatives = pool_match(term)
        # A term that is not a UUID can only be a pool FQDN.
        with contextlib.suppress(ValueError):
            alternatives.append(Q(record_id=uuid.UUID(term)))
        return alternatives


@admin.register(CensusRecord)
class CensusRecordAdmin(RecordBrowserAdmin):
    list_display = ("timestamp", "client", "app_name", "os_name", "os_version", "user_language", "device_model", "user")
    detail_fields = (
        "day",
        "timestamp",
        "client",
        "app_name",
        "device_model",
        "os_name",
        "os_version",
        "user_language",
        "user",
        "device_id",
        "sign_in_attempts",
        "sign_in_failures",
    )
    list_filter = ("client",)
    search_fields = ("app_name",)
    search_help_text = (
        "An exact app name, OS name, language, OS version, or OS name and version (e.g. “Windows 10.0.19045”)."
    )

    @admin.display(description="User")
    def user(self, obj):
        return mask_pseudonym(obj.user_hash)

    def exact_search_alternatives(self, term):
        alternatives = [Q(app_name=term), Q(os_name=term), Q(os_version=term), Q(user_language=term)]
        os_name, _, os_version = term.rpartition(" ")
        if os_name and os_version:
            alternatives.append(Q(os_name=os_name, os_version=os_version))
        return alternatives

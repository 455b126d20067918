"""Read-only record browsers for support staff and superusers (tenant admins see counts, not records).

The record tables hold tens of millions of rows, so nothing here counts them: pages come from a
look-ahead query (one row more than a page tells whether there is a next one), the total shown is the
planner's estimate on PostgreSQL, and lists are ordered and filtered only by what the indexes in
telemetry/models.py serve.
"""

import contextlib
import operator
import uuid
from functools import reduce

from django.contrib import admin
from django.db.models import Q

from portal.admin_paging import CountFreeListMixin
from telemetry.models import CensusRecord, ErrorReport, UsageRecord
from telemetry.names import fqdn_key
from telemetry.pseudonymize import mask_pseudonym
from telemetry.records import CENSUS_COLUMNS, USAGE_COUNTER_NAMES
from tenants.admin_base import FindUserByIdMixin, PortalModelAdmin, VisibleTenantFilter
from tenants.models import Pool


class RecordBrowserAdmin(CountFreeListMixin, PortalModelAdmin):
    """Read-only twice over: no role may add, change or delete records (PortalModelAdmin's
    permissions), and every field of a record's page is read-only."""

    tenant_admin_may_view = False
    ordering = ("-day", "-id")
    actions = None
    detail_fields: tuple[str, ...] = ()

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

    def scoped_queryset(self, request):
        # Support staff and superusers see every tenant; the boundary still decides it.
        return self.model.objects.visible_to(request.user)

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
        *USAGE_COUNTER_NAMES,
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
    # Every stored column but the random id, the pseudonym masked.
    detail_fields = tuple("user" if column == "user_hash" else column for column in CENSUS_COLUMNS if column != "id")
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

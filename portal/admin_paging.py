"""Change lists that never count: for tables of millions of rows (records, end users).

Django's change list runs COUNT(*) twice per page (the filtered and the full count) and offers
sorting on any column; on a big table each is a scan. These lists read the page plus one row to know
whether there is a next one, sort only by the admin's index-backed `ordering` (or, on request, by a
column its `index_sorts` names, either way), and show PostgreSQL's planner estimate instead of a count
when unfiltered.
"""

from functools import cached_property

from django.contrib.admin import ShowFacets
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, ChangeList
from django.core.paginator import Paginator
from django.db import connection

# How deep next/previous paging may go: OFFSET reads every skipped row, so deeper pages are refused
# (narrow the list with a filter or a search instead).
MAX_PAGES = 500


def estimated_row_count(model) -> int | None:
    """The planner's estimate of a table's rows on PostgreSQL (no scan); None where unknown."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # A table partitioned by day (telemetry/partitions.py) has no estimate of its own: its
        # partitions' estimates, summed. -1 means never analyzed: no estimate yet.
        cursor.execute(
            "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT sum(p.reltuples) FILTER (WHERE p.reltuples >= 0) "
            "FROM pg_partition_tree(c.oid) t JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf) "
            "ELSE nullif(greatest(c.reltuples, -1), -1) END::bigint FROM pg_class c WHERE c.oid = %s::regclass",
            [model._meta.db_table],
        )
        row = cursor.fetchone()
    return row[0] if row and row[0] is not None else None


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


class CountFreeChangeList(ChangeList):
    """Next/previous paging, an index-backed order and, when unfiltered, an estimated total."""

    def get_ordering(self, request, queryset):
        """The admin's `ordering`, or the order `index_sorts` gives the first sorted column, either way.

        `index_sorts` maps a column of `list_display` to the fields of an index that serves it,
        descending (`("-timestamp", "-id")`); an index read backwards serves the ascending order, so
        both directions cost the same. A request to sort by any other column is ignored.
        """
        sorts = getattr(self.model_admin, "index_sorts", {})
        first = self.params.get(ORDER_VAR, "").split(".")[0]
        descending = first.startswith("-")
        digits = first.removeprefix("-")
        if not digits.isdigit() or int(digits) >= len(self.list_display):
            return list(self.model_admin.ordering)
        column = self.list_display[int(digits)]
        if column not in sorts:
            return list(self.model_admin.ordering)
        fields = sorts[column]
        if descending:
            return list(fields)
        return [field.removeprefix("-") for field in fields]

    @property
    def oldest_first(self) -> bool:
        """Whether this list was sorted ascending by one of its `index_sorts` (next pages are newer)."""
        sorts = getattr(self.model_admin, "index_sorts", {})
        return bool(sorts) and not self.get_ordering(None, None)[0].startswith("-")

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


class CountFreeListMixin:
    """For a ModelAdmin of a big table: next/previous paging without counts, its `ordering` only."""

    sortable_by = ()
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_max_show_all = 0
    list_per_page = 100
    paginator = LookaheadPaginator

    def get_changelist(self, request, **kwargs):
        return CountFreeChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = int(request.GET.get(PAGE_VAR, 1))
        except ValueError:
            page_number = 1
        return self.paginator(queryset, per_page, orphans, allow_empty_first_page, page_number=page_number)

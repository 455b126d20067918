"""Record browsers for support staff: time order, date range, pool and error-code filters, the timestamp
sort, the case-blind error-code search and the bounded CSV export, all through the admin."""

import csv
import datetime
import io
import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from telemetry import admin as telemetry_admin
from telemetry.models import ErrorCodeDailyCount, ErrorReport
from telemetry.pseudonymize import mask_pseudonym
from tests.admin.conftest import DAY, census_record_create, error_report_create, usage_record_create

BROWSERS = ("errorreport", "usagerecord", "censusrecord")


def listed(response):
    return list(response.context["cl"].result_list)


def changelist(name: str) -> str:
    return reverse(f"admin:telemetry_{name}_changelist")


def export(name: str) -> str:
    return reverse(f"admin:telemetry_{name}_export")


def at(record, hour: int, *, day=DAY):
    """The record, its timestamp moved to `hour` o'clock (UTC) of `day`."""
    timestamp = datetime.datetime.combine(day, datetime.time(hour), tzinfo=datetime.UTC)
    type(record).objects.filter(pk=record.pk).update(day=day, timestamp=timestamp)
    record.refresh_from_db()
    return record


def exported(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_error_reports_list_newest_timestamp_first_not_newest_insertion(client, iago, contoso_world):
    pool, tenant = contoso_world.pool, contoso_world.tenant
    evening = at(error_report_create(tenant=tenant, pool=pool), 18)
    morning = at(error_report_create(tenant=tenant, pool=pool), 8)  # inserted later, happened earlier
    client.force_login(iago)
    reports = listed(client.get(changelist("errorreport")))
    assert reports.index(evening) < reports.index(morning)


@pytest.mark.parametrize("name", BROWSERS)
def test_the_timestamp_column_sorts_oldest_first_and_newest_first(client, iago, contoso_world, name):
    create = {
        "errorreport": lambda: error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool),
        "usagerecord": lambda: usage_record_create(tenant=contoso_world.tenant, pool=contoso_world.pool),
        "censusrecord": census_record_create,
    }[name]
    records = [at(create(), hour) for hour in (9, 15, 3)]
    client.force_login(iago)
    timestamp_column = "0"  # the first column of every browser

    oldest_first = [r for r in listed(client.get(changelist(name), {"o": timestamp_column})) if r in records]
    newest_first = [r for r in listed(client.get(changelist(name), {"o": f"-{timestamp_column}"})) if r in records]

    assert [r.timestamp.hour for r in oldest_first] == [3, 9, 15]
    assert [r.timestamp.hour for r in newest_first] == [15, 9, 3]
    # The header offers the other direction.
    assert '<a href="?o=0">Timestamp</a>' in client.get(changelist(name)).text
    assert '<a href="?o=-0">Timestamp</a>' in client.get(changelist(name), {"o": "0"}).text


def test_paging_an_oldest_first_list_calls_the_next_page_newer(client, iago, contoso_world):
    for n in range(101):
        error_report_create(
            tenant=contoso_world.tenant, pool=contoso_world.pool, day=DAY - datetime.timedelta(days=n + 1)
        )
    client.force_login(iago)
    first = client.get(changelist("errorreport"), {"o": "0"}).text
    assert "Newer ›" in first
    assert "Older ›" not in first


@pytest.mark.parametrize("name", BROWSERS)
def test_a_date_range_lists_the_records_of_those_days_only(client, iago, contoso_world, name):
    create = {
        "errorreport": lambda day: error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, day=day),
        "usagerecord": lambda day: usage_record_create(tenant=contoso_world.tenant, pool=contoso_world.pool, day=day),
        "censusrecord": lambda day: census_record_create(day=day),
    }[name]
    days = [datetime.date(2026, 11, d) for d in (1, 2, 3, 4)]
    records = {day: at(create(day), 23, day=day) for day in days}
    client.force_login(iago)

    response = client.get(changelist(name), {"from_day": "2026-11-02", "to_day": "2026-11-03"})

    assert set(listed(response)) == {records[days[1]], records[days[2]]}
    assert 'value="2026-11-02"' in response.text
    only_from = client.get(changelist(name), {"from_day": "2026-11-03"})
    assert set(listed(only_from)) == {records[days[2]], records[days[3]]}


def test_a_date_range_that_is_not_a_date_is_refused(client, iago, contoso_world):
    client.force_login(iago)
    response = client.get(changelist("errorreport"), {"from_day": "yesterday"})
    assert response.status_code == 302
    assert "e=1" in response["Location"]


def test_the_date_range_form_keeps_the_other_filters(client, iago, contoso_world):
    client.force_login(iago)
    response = client.get(changelist("errorreport"), {"client__exact": "desktop", "o": "0"})
    assert '<input type="hidden" name="client__exact" value="desktop">' in response.text
    assert '<input type="hidden" name="o" value="0">' in response.text


@pytest.mark.parametrize("name", ["errorreport", "usagerecord"])
def test_the_pool_filter_lists_that_pools_records(client, iago, contoso_world, fabrikam_world, name):
    client.force_login(iago)
    response = client.get(changelist(name), {"pool__id__exact": fabrikam_world.pool.pk})
    expected = fabrikam_world.error_report if name == "errorreport" else fabrikam_world.usage_record
    assert listed(response) == [expected]
    # Support staff see every tenant's pools, named with their tenant.
    assert "pool01.contoso.com (Contoso)" in response.text
    assert "pool07.fabrikam.com (Fabrikam)" in response.text


def test_the_pool_filter_offers_only_the_pools_of_tenants_the_viewer_sees(hamlet, contoso_world, fabrikam_world):
    request = RequestFactory().get("/")
    request.user = hamlet
    choices = telemetry_admin.VisiblePoolFilter.field_choices(None, None, request, None)
    assert choices == [(contoso_world.pool.pk, "pool01.contoso.com (Contoso)")]


def test_the_error_code_filter_lists_that_codes_reports(client, iago, contoso_world):
    tenant, pool = contoso_world.tenant, contoso_world.pool
    timeouts = {error_report_create(tenant=tenant, pool=pool, error_code="SIGNIN_TIMEOUT") for _ in range(2)}
    error_report_create(tenant=tenant, pool=pool, error_code="MEDIA_FAILED")
    today = datetime.datetime.now(datetime.UTC).date()
    ErrorCodeDailyCount.objects.create(tenant=tenant, day=today, error_code="SIGNIN_TIMEOUT", records=2)
    ErrorCodeDailyCount.objects.create(tenant=tenant, day=today, error_code="MEDIA_FAILED", records=1)
    # Counted long ago: not offered (the filter lists the codes of the last month).
    ErrorCodeDailyCount.objects.create(tenant=tenant, day=today - datetime.timedelta(days=40), error_code="OLD_CODE")
    client.force_login(iago)

    page = client.get(changelist("errorreport"))
    assert "?error_code=SIGNIN_TIMEOUT" in page.text
    assert "?error_code=MEDIA_FAILED" in page.text
    assert "?error_code=OLD_CODE" not in page.text
    assert set(listed(client.get(changelist("errorreport"), {"error_code": "SIGNIN_TIMEOUT"}))) == timeouts


def test_an_error_code_in_the_address_filters_even_when_none_was_counted_lately(client, iago, contoso_world):
    timeout = error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, error_code="SIGNIN_TIMEOUT")
    client.force_login(iago)
    assert listed(client.get(changelist("errorreport"), {"error_code": "signin_timeout"})) == [timeout]


@pytest.mark.parametrize("term", ["signin_timeout", "SIGNIN_TIMEOUT", " Signin_Timeout "])
def test_the_search_finds_an_error_code_in_any_case(client, iago, contoso_world, term):
    tenant, pool = contoso_world.tenant, contoso_world.pool
    timeout = error_report_create(tenant=tenant, pool=pool, error_code="SIGNIN_TIMEOUT")
    client.force_login(iago)
    assert listed(client.get(changelist("errorreport"), {"q": term})) == [timeout]


def test_the_export_holds_what_the_filter_shows_with_pseudonyms_masked(client, iago, contoso_world, fabrikam_world):
    report = contoso_world.error_report
    client.force_login(iago)

    rows = exported(client.get(export("errorreport"), {"tenant__id__exact": contoso_world.tenant.pk}))

    assert rows[0][:5] == ["Timestamp", "Tenant", "Pool", "Client", "Error code"]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Tenant"] == "Contoso"
    assert row["Pool"] == "pool01.contoso.com"
    assert row["Error code"] == "contoso-E1"
    assert row["User"] == mask_pseudonym(report.user_hash)
    body = "\n".join(",".join(r) for r in rows)
    assert report.user_hash not in body
    assert report.user_hash.split(":")[1] not in body


@pytest.mark.parametrize("name", BROWSERS)
def test_every_browser_exports_its_list_and_offers_the_export_with_its_bound(client, iago, contoso_world, name):
    census_record_create()
    client.force_login(iago)
    page = client.get(changelist(name), {"client__exact": "desktop", "p": "1"})
    assert f"{export(name)}?client__exact=desktop" in page.text
    assert "Exports stop at 100,000 rows" in page.text
    rows = exported(client.get(export(name)))
    assert len(rows) == 2  # the header and the one record of each table


def test_the_export_keeps_the_search_and_the_order(client, iago, contoso_world):
    tenant, pool = contoso_world.tenant, contoso_world.pool
    for hour in (5, 20, 11):
        at(error_report_create(tenant=tenant, pool=pool, error_code="SIGNIN_TIMEOUT"), hour)
    client.force_login(iago)
    rows = exported(client.get(export("errorreport"), {"q": "signin_timeout", "o": "0"}))
    assert [row[0][11:13] for row in rows[1:]] == ["05", "11", "20"]


def test_the_export_stops_at_its_bound_and_says_so_in_the_file(client, iago, contoso_world, monkeypatch):
    monkeypatch.setattr(telemetry_admin, "EXPORT_ROW_LIMIT", 2)
    for _ in range(3):
        error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool)
    client.force_login(iago)
    rows = exported(client.get(export("errorreport")))
    assert len(rows) == 1 + 2 + 1
    assert rows[-1] == [telemetry_admin.EXPORT_TRUNCATED_NOTE]


def test_the_export_makes_client_sent_text_formula_free(client, iago, contoso_world):
    error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, error_code="=HYPERLINK(1)")
    client.force_login(iago)
    rows = exported(client.get(export("errorreport"), {"q": "=HYPERLINK(1)"}))
    assert rows[1][4] == "'=HYPERLINK(1)"


@pytest.mark.parametrize("name", BROWSERS)
def test_tenant_admins_may_neither_browse_nor_export_records(client, hamlet, contoso_world, name):
    client.force_login(hamlet)
    assert client.get(changelist(name)).status_code == 403
    assert client.get(export(name)).status_code == 403


def test_the_browsers_load_their_stylesheet_and_no_inline_style(client, iago, contoso_world):
    client.force_login(iago)
    for name in BROWSERS:
        body = client.get(changelist(name)).text
        assert "telemetry/browsers.css" in body
        assert " style=" not in body


# A Sort node of a plan ("Sort  (cost=...", "Incremental Sort"), not a Merge Append's "Sort Key:" (the
# record tables are partitioned by day on PostgreSQL: a page merges its partitions' index scans).
SORT_NODE = re.compile(r"\bSort  \(|Incremental Sort")


def plan_with_only(queryset, index: str) -> str:
    """The plan of `queryset` when `index` (and the primary key) are the only indexes of its table.

    On a test's few rows the planner may pick any index, so the others are dropped inside the test's
    transaction (rolled back after it) and scans and sorts priced out: the plan uses `index` without
    a Sort only if that index serves both the filter and the order.
    """
    table = queryset.model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname <> %s AND indexname NOT LIKE %s",
            [table, index, "%_pkey"],
        )
        for (other,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{other}"')
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    return queryset.explain()


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("name", "query", "index"),
    [
        ("errorreport", {}, "error_time"),
        ("errorreport", {"o": "0"}, "error_time"),
        ("errorreport", {"from_day": "2025-03-01", "to_day": "2025-03-14"}, "error_time"),
        ("errorreport", {"tenant__id__exact": "TENANT"}, "error_tenant_time"),
        ("errorreport", {"pool__id__exact": "POOL", "from_day": "2025-03-01"}, "error_pool_time"),
        ("errorreport", {"client__exact": "desktop"}, "error_client_time"),
        ("errorreport", {"error_code": "SIGNIN_TIMEOUT"}, "error_code_upper_time"),
        ("usagerecord", {}, "usage_time"),
        ("usagerecord", {"tenant__id__exact": "TENANT", "o": "0"}, "usage_tenant_time"),
        ("usagerecord", {"pool__id__exact": "POOL"}, "usage_pool_time"),
        ("usagerecord", {"client__exact": "web"}, "usage_client_time"),
        ("censusrecord", {"to_day": "2025-03-14"}, "census_time"),
        ("censusrecord", {"client__exact": "desktop"}, "census_client_time"),
    ],
)
def test_each_filter_and_sort_is_served_by_its_index_without_a_sort(
    client, iago, contoso_world, fabrikam_world, name, query, index
):
    # Two tenants, two pools and an error code: the admin shows (and applies) a filter only when it
    # has a choice.
    ErrorCodeDailyCount.objects.create(tenant=contoso_world.tenant, day=DAY, error_code="SIGNIN_TIMEOUT", records=1)
    client.force_login(iago)
    values = {"TENANT": str(contoso_world.tenant.pk), "POOL": str(contoso_world.pool.pk)}
    query = {key: values.get(value, value) for key, value in query.items()}
    # The record query alone: on a test's few rows, joins to the tiny tenant and pool tables may be
    # planned as hash joins that lose any order (the big table's own plan is what is asserted).
    queryset = client.get(changelist(name), query).context["cl"].queryset.select_related(None)[:101]
    assert queryset.query.where or not set(query) - {"o"}
    explained = plan_with_only(queryset, index)
    assert index in explained
    assert not SORT_NODE.search(explained)


@pytest.mark.postgres
def test_the_case_blind_error_code_search_probes_the_upper_index(contoso_world):
    # The probe and the listed page of the search, as ErrorReportAdmin.get_search_results runs them.
    probe = ErrorReport.objects.filter(telemetry_admin.error_code_is("signin_timeout"))
    explained = plan_with_only(probe.order_by("-timestamp", "-id")[:101], "error_code_upper_time")
    assert "error_code_upper_time" in explained
    assert not SORT_NODE.search(explained)


@pytest.mark.parametrize("order", ["3", "-3", "--0", "-1.0", "x", "99", ""])
def test_any_other_sort_falls_back_to_newest_first(client, iago, contoso_world, order):
    client.force_login(iago)
    response = client.get(changelist("errorreport"), {"o": order})
    assert response.status_code == 200
    assert response.context["cl"].get_ordering(None, None) == ["-timestamp", "-id"]

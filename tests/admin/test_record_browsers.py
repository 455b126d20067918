"""Record browsers: support staff search and page through records without counting the tables."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.admin_paging import MAX_PAGES
from telemetry.models import CensusRecord, ErrorReport
from telemetry.pseudonymize import mask_pseudonym
from tests.admin.conftest import census_record_create, error_report_create

RECORD_TABLES = ("telemetry_errorreport", "telemetry_usagerecord", "telemetry_censusrecord")
COUNT_RE = re.compile(r"count\(", re.IGNORECASE)


def counting_queries(queries):
    """Queries that count rows of a record table."""
    return [
        query["sql"]
        for query in queries
        if COUNT_RE.search(query["sql"]) and any(table in query["sql"] for table in RECORD_TABLES)
    ]


def listed(response):
    return list(response.context["cl"].result_list)


def test_error_reports_show_personal_data_masked(client, iago, contoso_world):
    client.force_login(iago)
    report = contoso_world.error_report
    for url in (
        reverse("admin:telemetry_errorreport_changelist"),
        reverse("admin:telemetry_errorreport_change", args=[report.pk]),
    ):
        body = client.get(url).content.decode()
        assert mask_pseudonym(report.user_hash) in body
        assert report.user_hash not in body
        assert report.sip_uri_hash not in body
        assert "203.0.113.0/24" in body


@pytest.mark.parametrize("term", ["contoso-thread", " contoso-thread ", "contoso-E1", "POOL01.contoso.com"])
def test_error_reports_are_found_by_thread_error_code_or_pool(client, iago, contoso_world, fabrikam_world, term):
    client.force_login(iago)
    response = client.get(reverse("admin:telemetry_errorreport_changelist"), {"q": term})
    assert listed(response) == [contoso_world.error_report]


def test_a_search_that_matches_nothing_lists_nothing(client, iago, contoso_world):
    client.force_login(iago)
    response = client.get(reverse("admin:telemetry_errorreport_changelist"), {"q": "nobody@contoso.com"})
    assert listed(response) == []
    # An empty page says why: the search finds exact values only.
    assert "No error reports match “nobody@contoso.com”." in response.text


def test_a_search_that_matches_says_no_empty_state(client, iago, contoso_world):
    client.force_login(iago)
    response = client.get(reverse("admin:telemetry_errorreport_changelist"))
    assert listed(response)
    assert "portal-empty" not in response.text


def record_queries_with_or(queries):
    """Queries on a record table that OR several conditions: on a big table, ordered by day, such a
    query walks the whole day index when few rows match."""
    return [
        query["sql"]
        for query in queries
        if " OR " in query["sql"] and any(table in query["sql"] for table in RECORD_TABLES)
    ]


@pytest.mark.parametrize(
    ("changelist", "term"),
    [
        ("admin:telemetry_errorreport_changelist", "nothing-like-this"),
        ("admin:telemetry_errorreport_changelist", "contoso-E1"),
        ("admin:telemetry_usagerecord_changelist", "pool01.contoso.com"),
        ("admin:telemetry_censusrecord_changelist", "Communicator"),
        ("admin:telemetry_censusrecord_changelist", "Windows 10.0"),
    ],
)
def test_a_search_probes_each_alternative_apart_and_never_ors_them_over_a_record_table(
    client, iago, contoso_world, changelist, term
):
    census_record_create(app_name="Communicator", os_name="Windows", os_version="10.0")
    client.force_login(iago)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(changelist), {"q": term})
    assert response.status_code == 200
    assert record_queries_with_or(queries.captured_queries) == []


def test_a_search_matching_two_columns_lists_the_rows_of_both(client, iago, contoso_world):
    contoso_pool = contoso_world.pool
    by_code = error_report_create(tenant=contoso_world.tenant, pool=contoso_pool, error_code="SHARED", thread="t-1")
    by_thread = error_report_create(tenant=contoso_world.tenant, pool=contoso_pool, error_code="E-9", thread="SHARED")
    error_report_create(tenant=contoso_world.tenant, pool=contoso_pool, error_code="E-9", thread="t-2")
    client.force_login(iago)
    response = client.get(reverse("admin:telemetry_errorreport_changelist"), {"q": "SHARED"})
    assert set(listed(response)) == {by_code, by_thread}


@pytest.mark.parametrize(
    ("term", "expected"),
    [("Communicator", {"a"}), ("Android", {"b"}), ("fr-FR", {"b"}), ("10.0", {"a"}), ("Android 14", {"b"})],
)
def test_census_records_are_found_by_app_os_version_or_language(client, iago, term, expected):
    records = {
        "a": census_record_create(app_name="Communicator", os_name="Windows", os_version="10.0", language="en-US"),
        "b": census_record_create(app_name="Mobile", os_name="Android", os_version="14", language="fr-FR"),
    }
    client.force_login(iago)
    response = client.get(reverse("admin:telemetry_censusrecord_changelist"), {"q": term})
    assert {name for name, record in records.items() if record in listed(response)} == expected


@pytest.mark.parametrize("query", [{}, {"q": "contoso-E1"}, {"client__exact": "desktop"}])
def test_paging_never_counts_a_record_table(client, iago, contoso_world, query):
    pool = contoso_world.pool
    for n in range(100):
        error_report_create(
            tenant=contoso_world.tenant,
            pool=pool,
            error_code="contoso-E1",
            day=datetime.date(2025, 1, 1) + datetime.timedelta(days=n),
        )
    client.force_login(iago)
    url = reverse("admin:telemetry_errorreport_changelist")
    with CaptureQueriesContext(connection) as first_queries:
        first = client.get(url, query)
    assert first.status_code == 200
    assert counting_queries(first_queries.captured_queries) == []
    assert len(listed(first)) == 100
    # Newest first, by the (-timestamp, -id) index.
    days = [report.day for report in listed(first)]
    assert days == sorted(days, reverse=True)
    assert first.context["cl"].has_next_page
    with CaptureQueriesContext(connection) as second_queries:
        second = client.get(url, {**query, "p": 2})
    assert counting_queries(second_queries.captured_queries) == []
    assert listed(second) == [ErrorReport.objects.order_by("timestamp", "id").first()]
    assert not second.context["cl"].has_next_page
    assert "Newer" in second.content.decode()


def test_census_paging_never_counts(client, iago):
    for _ in range(3):
        census_record_create()
    client.force_login(iago)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:telemetry_censusrecord_changelist"))
    assert len(listed(response)) == 3
    assert counting_queries(queries.captured_queries) == []


def test_census_pages_list_every_record_once_newest_first(client, iago):
    # Random UUID ids: within a timestamp the order is by id, which is arbitrary but total, so pages neither
    # repeat nor skip a record.
    for n in range(230):
        census_record_create(day=datetime.date(2026, 11, 1) + datetime.timedelta(days=n % 3))
    client.force_login(iago)
    url = reverse("admin:telemetry_censusrecord_changelist")

    pages = [client.get(url, {"p": number}) for number in (1, 2, 3)]

    seen = [record.pk for page in pages for record in listed(page)]
    assert [len(listed(page)) for page in pages] == [100, 100, 30]
    assert seen == list(CensusRecord.objects.order_by("-timestamp", "-id").values_list("pk", flat=True))
    assert len(set(seen)) == 230
    assert [page.context["cl"].has_next_page for page in pages] == [True, True, False]
    detail = client.get(reverse("admin:telemetry_censusrecord_change", args=[seen[150]]))
    assert detail.status_code == 200


def test_paging_deeper_than_the_limit_is_refused_without_reading_records(client, iago, contoso_world):
    client.force_login(iago)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("admin:telemetry_errorreport_changelist"), {"p": MAX_PAGES + 1})
    assert response.status_code == 302
    assert not [q for q in queries.captured_queries if "telemetry_errorreport" in q["sql"]]


def test_record_browsers_refuse_to_sort_by_unindexed_columns(client, iago, contoso_world):
    client.force_login(iago)
    response = client.get(reverse("admin:telemetry_errorreport_changelist"), {"o": "5"})
    assert response.context["cl"].get_ordering(response.wsgi_request, ErrorReport.objects.all()) == [
        "-timestamp",
        "-id",
    ]


@pytest.mark.postgres
def test_the_unfiltered_list_shows_the_planners_estimate(client, iago, contoso_world):
    for _ in range(5):
        census_record_create()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE telemetry_censusrecord")
    client.force_login(iago)
    response = client.get(reverse("admin:telemetry_censusrecord_changelist"))
    assert response.context["cl"].estimated_total == CensusRecord.objects.count()
    assert "About 5 census records" in response.content.decode()
    searched = client.get(reverse("admin:telemetry_censusrecord_changelist"), {"q": "Windows"})
    assert searched.context["cl"].estimated_total is None


def test_clear_the_search_is_offered_only_after_a_search(client, iago, contoso_world):
    client.force_login(iago)
    url = reverse("admin:telemetry_errorreport_changelist")
    assert "Clear the search" not in client.get(url).content.decode()
    assert "Clear the search" in client.get(url, {"q": "contoso-E1"}).content.decode()

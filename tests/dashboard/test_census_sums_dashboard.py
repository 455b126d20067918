"""Census sign-in sums (CensusDailySum) on the all-tenants dashboard, its CSV and the counts API: shown to
support staff, never to a tenant admin (they are the whole installation's figures)."""

import csv
import io
import json
import re
from datetime import timedelta

import jsonschema
import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from telemetry.dashboard import CENSUS_NOTE
from telemetry.models import CensusDailySum, CensusRecord, StagedCensusRecord
from telemetry.schemas import CountsResponse
from tests.dashboard.test_dashboard import counts  # noqa: F401 (a fixture)
from tests.telemetry.client_api import closed, post_batch
from tests.telemetry.factories import census

ALL_URL = reverse("dashboard_all_tenants")
ALL_EXPORT_URL = reverse("dashboard_all_tenants_export")
TENANT_URL = reverse("dashboard")
TENANT_EXPORT_URL = reverse("dashboard_export")
COUNTS_URL = "/portal/api/counts"
TODAY = timezone.now().date()
DAY = TODAY - timedelta(days=3)
CENSUS_SECTION = "Census per day (the whole installation; counted when the maintenance moves staged records)"
# The period's totals (the default period: the last 30 days); distinctive, so a page that leaks them shows.
TOTALS = {"records": 31_339, "sign_in_attempts": 987_659, "sign_in_failures": 45_679}
LEAKS = ["987,659", "987659", "45,679", "45679", "987,654", "987654", "Sign-in attempts", "Sign-in failures"]


@pytest.fixture
def census_sums(db):
    CensusDailySum.objects.create(day=DAY, records=31_337, sign_in_attempts=987_654, sign_in_failures=45_678)
    CensusDailySum.objects.create(day=DAY + timedelta(days=1), records=2, sign_in_attempts=5, sign_in_failures=1)
    # Before the default period: not in it.
    CensusDailySum.objects.create(
        day=TODAY - timedelta(days=40), records=999, sign_in_attempts=111_111, sign_in_failures=22_222
    )


def table(text: str, table_id: str) -> str:
    return re.search(rf'<table[^>]*id="{table_id}".*?</table>', text, re.DOTALL).group(0)


def cells(html: str) -> list[list[str]]:
    return [re.findall(r"<t[dh][^>]*>([^<]*)</t[dh]>", row) for row in re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)]


def csv_sections(body: str) -> dict[str, list[list[str]]]:
    sections, current = {}, None
    for row in csv.reader(io.StringIO(body)):
        if not row:
            current = None
        elif current is None:
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    return sections


def test_support_staff_see_the_census_sums_of_the_period(client, iago, census_sums):
    client.force_login(iago)

    response = client.get(ALL_URL)

    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    assert dashboard.census_total == TOTALS
    by_day = {row["day"]: row for row in dashboard.census_by_day}
    assert len(by_day) == 30  # every day of the period, the empty ones as zeros
    assert by_day[DAY] == {"day": DAY, "records": 31_337, "sign_in_attempts": 987_654, "sign_in_failures": 45_678}
    assert by_day[TODAY] == {"day": TODAY, "records": 0, "sign_in_attempts": 0, "sign_in_failures": 0}
    assert cells(table(response.text, "census-totals")) == [
        ["Census records", "Sign-in attempts", "Sign-in failures"],
        ["31,339", "987,659", "45,679"],
    ]
    assert [str(DAY), "31,337", "987,654", "45,678"] in cells(table(response.text, "census-by-day"))
    assert CENSUS_NOTE in response.text
    assert "once the maintenance (maintain_telemetry) has moved it" in CENSUS_NOTE
    chart = re.search(r'<svg[^>]*id="chart-census-sums".*?</svg>', response.text, re.DOTALL).group(0)
    assert "Census records 31,339, Sign-in attempts 987,659, Sign-in failures 45,679" in chart
    assert chart.count('class="chart-line') == 3


def test_the_period_chooses_the_days(client, iago, census_sums):
    client.force_login(iago)

    response = client.get(ALL_URL, {"from": str(DAY + timedelta(days=1)), "to": str(TODAY)})

    assert response.context["dashboard"].census_total == {"records": 2, "sign_in_attempts": 5, "sign_in_failures": 1}


def test_the_page_and_its_csv_read_the_census_sums_not_the_census_table(client, iago, census_sums):
    client.force_login(iago)
    for url in (ALL_URL, ALL_EXPORT_URL):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        sql = "\n".join(query["sql"] for query in queries.captured_queries)
        assert CensusDailySum._meta.db_table in sql
        assert CensusRecord._meta.db_table not in sql
        assert StagedCensusRecord._meta.db_table not in sql


def test_the_all_tenants_csv_holds_the_census_sums(client, iago, census_sums):
    client.force_login(iago)
    period = {"from": str(DAY - timedelta(days=1)), "to": str(DAY + timedelta(days=1))}
    response = client.get(ALL_EXPORT_URL, period)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"dashboard-all-tenants-{period['from']}-{period['to']}.csv" in response["Content-Disposition"]
    sections = csv_sections(response.content.decode())
    assert sections["All tenants"] == [["From", "To"], [period["from"], period["to"]]]
    assert sections[CENSUS_SECTION] == [
        ["Day", "Census records", "Sign-in attempts", "Sign-in failures"],
        [str(DAY - timedelta(days=1)), "0", "0", "0"],
        [str(DAY), "31337", "987654", "45678"],
        [str(DAY + timedelta(days=1)), "2", "5", "1"],
        ["Total", "31339", "987659", "45679"],
    ]
    for title in ("Tenants by volume", "Tenants by drops", "Records per day", "Usage by pool", "Usage per day"):
        assert title in sections


def test_the_all_tenants_csv_ranks_the_tenants_and_lists_pools_with_their_tenant(client, iago, counts):  # noqa: F811
    client.force_login(iago)

    sections = csv_sections(client.get(ALL_EXPORT_URL).content.decode())

    assert sections["Tenants by volume"] == [
        ["Rank", "Tenant", "Name", "Records received"],
        ["1", "fabrikam", "Fabrikam", "18000"],
        ["2", "contoso", "Contoso", "18"],
    ]
    assert sections["Tenants by drops"][1:] == [["1", "fabrikam", "Fabrikam", "8000"], ["2", "contoso", "Contoso", "8"]]
    assert sections["Usage by pool"][0][:3] == ["Pool", "Tenant", "Usage records"]
    assert sections["Usage by pool"][1:] == [
        ["pool01.contoso.com", "contoso", "9", "120", "45", "11", "10", "333"],
        ["pool01.fabrikam.com", "fabrikam", "9000", "777777", "0", "0", "0", "888888"],
        ["Total", "", "9009", "777897", "45", "11", "10", "889221"],
    ]
    # A client-sent string that looks like a formula is neutralized for spreadsheets.
    assert ["'=HYPERLINK(evil)", "1"] in sections["Top federation partners"]


@pytest.mark.parametrize("who", ["hamlet", "othello"])
def test_tenant_admins_get_a_404_for_the_all_tenants_csv(client, census_sums, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(ALL_EXPORT_URL).status_code == 404


def test_the_all_tenants_csv_refuses_a_bad_period_and_anonymous(client, iago, census_sums):
    assert client.get(ALL_EXPORT_URL).status_code == 302
    client.force_login(iago)
    response = client.get(ALL_EXPORT_URL, {"from": "not a day"})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().strip()


def test_a_tenant_admin_sees_no_census_sign_in_figures_anywhere(client, hamlet, contoso, contoso_pool, census_sums):
    client.force_login(hamlet)

    pages = {
        "dashboard": client.get(TENANT_URL),
        "csv": client.get(TENANT_EXPORT_URL),
        "counts": client.get(COUNTS_URL),
        "counts, own tenant named": client.get(COUNTS_URL, {"tenant": "contoso"}),
    }

    for name, response in pages.items():
        assert response.status_code == 200, name
        text = response.content.decode()
        for leak in LEAKS:
            assert leak not in text, (name, leak)
    assert "census" not in pages["counts"].json()


def test_support_staff_get_the_installations_census_in_the_counts_api(client, iago, contoso, fabrikam, census_sums):
    client.force_login(iago)

    contoso_body = client.get(COUNTS_URL, {"tenant": "contoso"}).json()
    fabrikam_body = client.get(COUNTS_URL, {"tenant": "fabrikam"}).json()
    period = client.get(COUNTS_URL, {"tenant": "contoso", "from": str(DAY + timedelta(days=1))}).json()

    # Installation-wide: the same figures whichever tenant is named.
    assert contoso_body["census"] == TOTALS
    assert fabrikam_body["census"] == TOTALS
    assert period["census"] == {"records": 2, "sign_in_attempts": 5, "sign_in_failures": 1}
    schema = closed(CountsResponse.model_json_schema(by_alias=True, mode="serialization"))
    jsonschema.Draft202012Validator(schema).validate(contoso_body)
    assert schema["properties"]["census"]["anyOf"][0]["$ref"].endswith("/CensusSums")


def test_a_superuser_gets_the_census_too(client, django_user_model, contoso, census_sums):
    prospero = django_user_model.objects.create_superuser(username="prospero", password="x-unused-x")
    client.force_login(prospero)
    assert json.loads(client.get(COUNTS_URL, {"tenant": "contoso"}).content)["census"] == TOTALS


def test_a_census_record_counts_once_the_maintenance_has_moved_it(client, iago, contoso, contoso_pool, contoso_key):
    records = [census(timestamp=f"{DAY}T10:00:00Z", sign_in_attempts=6, sign_in_failures=2) for _ in range(3)]
    assert post_batch(client, contoso_key, records).json()["accepted"] == 3
    client.force_login(iago)

    staged = client.get(ALL_URL).context["dashboard"].census_total
    call_command("maintain_telemetry", stdout=io.StringIO())
    moved = client.get(ALL_URL).context["dashboard"].census_total
    call_command("maintain_telemetry", stdout=io.StringIO())
    again = client.get(COUNTS_URL, {"tenant": "contoso"}).json()["census"]

    assert staged == {"records": 0, "sign_in_attempts": 0, "sign_in_failures": 0}
    assert moved == {"records": 3, "sign_in_attempts": 18, "sign_in_failures": 6}
    assert again == moved

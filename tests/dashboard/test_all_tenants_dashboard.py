"""The all-tenants dashboard: every tenant's counts summed, the tenants ranked, for support staff only."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telemetry import dashboard as dashboard_module
from telemetry.models import CensusRecord, ErrorReport, IngestionCount, UsageRecord
from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.dashboard.test_dashboard import DAY, counts  # noqa: F401 (a fixture)

URL = reverse("dashboard_all_tenants")


def ranking(response, table_id: str) -> list[tuple[str, str]]:
    """(tenant name, total) of each row of a ranking table, in order."""
    table = re.search(rf'<table[^>]*id="{table_id}".*?</table>', response.text, re.DOTALL).group(0)
    return re.findall(r'<a href="[^"]*">([^<]+)</a> \([^)]*\)</td><td class="number">([\d,]+)</td>', table)


def test_support_staff_see_every_tenant_summed(client, iago, counts):  # noqa: F811
    client.force_login(iago)
    response = client.get(URL)
    assert response.status_code == 200
    dashboard = response.context["dashboard"]
    # contoso (scale 1) and fabrikam (scale 1000): usage accepted 9 + 9000 on DAY.
    usage_day = next(row for row in dashboard.ledger if row.day == DAY and row.category == "usage")
    assert usage_day.accepted == 9 + 9000
    assert dashboard.usage_total["records"] == 9 + 9000
    assert dashboard.usage_total["ims_sent"] == 120 + 777777
    assert {row["pool__fqdn"] for row in dashboard.usage_by_pool} == {"pool01.contoso.com", "pool01.fabrikam.com"}
    assert {row["error_code"] for row in dashboard.error_codes} == {"SIGNIN_TIMEOUT", "FABRIKAM_ONLY_CODE"}
    assert dashboard.partners[0] == {"partner": "secret-partner.example", "total": 50}
    assert len(response.context["outcome_charts"]) == 3


def test_the_tenants_are_ranked_by_volume_and_by_drops(client, iago, counts, contoso):  # noqa: F811
    # A third tenant that sends little but has much dropped.
    tailspin = services.tenant_create(slug="tailspin", name="Tailspin", domain="tailspintoys.com", actor=COMMAND_ACTOR)
    IngestionCount.objects.create(
        tenant=tailspin, day=DAY, category="usage", client="desktop", outcome="accepted", records=1
    )
    IngestionCount.objects.create(
        tenant=tailspin,
        day=DAY,
        category="usage",
        client="desktop",
        outcome="dropped",
        reason="usage_collection_disabled",
        records=100,
    )
    client.force_login(iago)
    response = client.get(URL)
    # Received: accepted + dropped + rejected (7 + 2 + 5 + 3 + 1 per scale unit = 18).
    assert ranking(response, "tenants-by-volume") == [("Fabrikam", "18,000"), ("Tailspin", "101"), ("Contoso", "18")]
    # Dropped: (5 + 3) per scale unit.
    assert ranking(response, "tenants-by-drops") == [("Fabrikam", "8,000"), ("Tailspin", "100"), ("Contoso", "8")]
    assert f"?tenant=tailspin&amp;from={response.context['dashboard'].date_from}" in response.text


def test_each_ranking_lists_at_most_twenty_tenants(client, iago, db):
    for number in range(25):
        tenant = services.tenant_create(
            slug=f"t{number:02}", name=f"T{number:02}", domain=f"t{number:02}.example", actor=COMMAND_ACTOR
        )
        IngestionCount.objects.create(
            tenant=tenant, day=DAY, category="error", client="desktop", outcome="dropped", records=number + 1
        )
    client.force_login(iago)
    response = client.get(URL)
    by_drops = ranking(response, "tenants-by-drops")
    assert len(by_drops) == dashboard_module.TOP_TENANTS == 20
    assert by_drops[0] == ("T24", "25")
    assert len(ranking(response, "tenants-by-volume")) == 20


def test_superusers_see_it(client, django_user_model, counts):  # noqa: F811
    prospero = django_user_model.objects.create_superuser(username="prospero", password="x-unused-x")
    client.force_login(prospero)
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize("who", ["hamlet", "othello"])
def test_tenant_admins_get_a_404(client, counts, who, request):  # noqa: F811
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 404


def test_a_user_without_a_portal_role_gets_a_404(client, django_user_model, counts):  # noqa: F811
    client.force_login(django_user_model.objects.create_user(username="nobody", password="x-unused-x"))
    assert client.get(URL).status_code == 404


def test_anonymous_is_sent_to_sign_in(client, db):
    assert client.get(URL).status_code == 302


def test_it_reads_only_the_count_tables(client, iago, counts):  # noqa: F811
    raw_tables = [model._meta.db_table for model in (CensusRecord, UsageRecord, ErrorReport)]
    client.force_login(iago)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 200
    sql = "\n".join(query["sql"] for query in queries.captured_queries)
    assert "telemetry_ingestioncount" in sql
    for table in raw_tables:
        assert table not in sql


def test_the_period_is_chosen_and_a_bad_one_is_a_form_error(client, iago, counts):  # noqa: F811
    client.force_login(iago)
    before = client.get(URL, {"from": str(DAY - timedelta(days=10)), "to": str(DAY - timedelta(days=5))})
    assert before.status_code == 200
    assert before.context["dashboard"].tenants_by_volume == []
    assert client.get(URL, {"from": "not a day"}).status_code == 400


def test_the_page_has_no_inline_style_or_script(client, iago, counts):  # noqa: F811
    client.force_login(iago)
    text = client.get(URL).text
    assert "style=" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)


def test_the_home_page_leads_support_staff_to_the_all_tenants_dashboard_and_not_tenant_admins(client, iago, hamlet):
    url = reverse("dashboard_all_tenants")
    client.force_login(iago)
    assert url in client.get(reverse("admin:index")).content.decode()
    client.force_login(hamlet)
    assert url not in client.get(reverse("admin:index")).content.decode()

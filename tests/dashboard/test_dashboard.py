"""The dashboard: scoping, the numbers it shows, policy markers, the CSV export, bad periods."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from telemetry import dashboard as dashboard_module
from telemetry import forms as period_forms
from telemetry.models import (
    CensusRecord,
    ErrorCodeDailyCount,
    ErrorReport,
    FederationPartnerDailyCount,
    IngestionCount,
    UsageDailySum,
    UsageRecord,
)
from telemetry.services import ingest_batch
from telemetry.vocabulary import POLICY_ACTIONS as DASHBOARD_POLICY_ACTIONS
from tenants import services
from tenants.models import AuditLogEntry
from tests.telemetry.factories import usage

URL = reverse("dashboard")
EXPORT_URL = reverse("dashboard_export")
TODAY = timezone.now().date()
DAY = TODAY - timedelta(days=3)


@pytest.fixture
def counts(contoso, contoso_pool, fabrikam, fabrikam_pool):
    """Count rows for both tenants, as ingestion would have written them."""
    for tenant, scale in ((contoso, 1), (fabrikam, 1000)):
        IngestionCount.objects.create(
            tenant=tenant, day=DAY, category="usage", client="desktop", outcome="accepted", records=7 * scale
        )
        IngestionCount.objects.create(
            tenant=tenant, day=DAY, category="usage", client="mobile", outcome="accepted", records=2 * scale
        )
        IngestionCount.objects.create(
            tenant=tenant,
            day=DAY + timedelta(days=1),
            category="usage",
            client="desktop",
            outcome="dropped",
            reason="usage_collection_disabled",
            records=5 * scale,
        )
        IngestionCount.objects.create(
            tenant=tenant,
            day=DAY,
            category="error",
            client="desktop",
            outcome="dropped",
            reason="user_not_opted_in",
            records=3 * scale,
        )
        IngestionCount.objects.create(
            tenant=tenant, day=DAY, category="census", client="web", outcome="rejected", reason="invalid", records=scale
        )
    UsageDailySum.objects.create(
        tenant=contoso,
        pool=contoso_pool,
        day=DAY,
        records=9,
        ims_sent=120,
        ims_received=45,
        meeting_join_attempts=11,
        meeting_join_successes=10,
        call_minutes=333,
    )
    UsageDailySum.objects.create(
        tenant=fabrikam, pool=fabrikam_pool, day=DAY, records=9000, ims_sent=777777, call_minutes=888888
    )
    FederationPartnerDailyCount.objects.create(tenant=contoso, day=DAY, partner="microsoft.com", records=6)
    FederationPartnerDailyCount.objects.create(
        tenant=contoso, day=DAY + timedelta(days=1), partner="microsoft.com", records=4
    )
    FederationPartnerDailyCount.objects.create(tenant=contoso, day=DAY, partner="=HYPERLINK(evil)", records=1)
    FederationPartnerDailyCount.objects.create(tenant=fabrikam, day=DAY, partner="secret-partner.example", records=50)
    ErrorCodeDailyCount.objects.create(tenant=contoso, day=DAY, error_code="SIGNIN_TIMEOUT", records=4)
    ErrorCodeDailyCount.objects.create(tenant=fabrikam, day=DAY, error_code="FABRIKAM_ONLY_CODE", records=4)


def _signed_in(client, user):
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_the_admin_sign_in(client, contoso):
    for url in (URL, EXPORT_URL):
        response = client.get(url, {"tenant": "contoso"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_a_tenant_admin_sees_their_own_tenant_by_default(client, hamlet, counts):
    response = _signed_in(client, hamlet).get(URL)
    assert response.status_code == 200
    assert response.context["dashboard"].tenant.slug == "contoso"
    # One tenant: no picker, and nothing of fabrikam on the page.
    assert 'name="tenant"' in response.text
    assert "<select" not in response.text.split('class="dashboard-filter"')[1].split("</form>")[0]
    assert "FABRIKAM_ONLY_CODE" not in response.text
    assert "secret-partner.example" not in response.text


def test_another_tenants_slug_is_a_404_for_a_tenant_admin(client, hamlet, fabrikam, counts):
    client = _signed_in(client, hamlet)
    assert client.get(URL, {"tenant": "fabrikam"}).status_code == 404
    assert client.get(EXPORT_URL, {"tenant": "fabrikam"}).status_code == 404
    assert client.get(URL, {"tenant": "no-such-tenant"}).status_code == 404


def test_othello_sees_fabrikam_and_not_contoso(client, othello, contoso, counts):
    client = _signed_in(client, othello)
    assert client.get(URL).context["dashboard"].tenant.slug == "fabrikam"
    assert client.get(URL, {"tenant": "contoso"}).status_code == 404


def test_support_staff_pick_any_tenant(client, iago, counts):
    client = _signed_in(client, iago)
    contoso_page = client.get(URL, {"tenant": "contoso"})
    fabrikam_page = client.get(URL, {"tenant": "fabrikam"})
    assert contoso_page.status_code == fabrikam_page.status_code == 200
    assert '<option value="fabrikam"' in contoso_page.text
    assert '<option value="contoso"' in contoso_page.text
    assert "FABRIKAM_ONLY_CODE" in fabrikam_page.text
    assert "FABRIKAM_ONLY_CODE" not in contoso_page.text


def test_a_signed_in_user_without_a_portal_role_sees_no_tenant(client, django_user_model, counts):
    nobody = django_user_model.objects.create_user(username="nobody", password="x-unused-password-1")
    assert _signed_in(client, nobody).get(URL, {"tenant": "contoso"}).status_code == 404


def test_the_numbers_are_those_of_the_count_tables(client, hamlet, counts):
    response = _signed_in(client, hamlet).get(URL)
    board = response.context["dashboard"]
    ledger = {(row.day, row.category): row for row in board.ledger}
    assert ledger[(DAY, "usage")].accepted == 9  # desktop 7 + mobile 2
    assert ledger[(DAY + timedelta(days=1), "usage")].dropped == 5
    assert ledger[(DAY, "error")].drop_reasons == {"user_not_opted_in": 3}
    assert ledger[(DAY, "census")].rejected == 1
    assert board.drops == [
        ("Usage", "Usage data collection is off", 5),
        ("Error reports", "The user has not opted in to error reporting", 3),
    ]
    assert board.usage_total == {
        "records": 9,
        "ims_sent": 120,
        "ims_received": 45,
        "meeting_join_attempts": 11,
        "meeting_join_successes": 10,
        "call_minutes": 333,
    }
    assert [(row["partner"], row["total"]) for row in board.partners] == [
        ("microsoft.com", 10),
        ("=HYPERLINK(evil)", 1),
    ]
    # The page shows the same numbers, reasons in words.
    text = response.text
    assert "Usage data collection is off" in text
    assert "The user has not opted in to error reporting" in text
    assert "pool01.contoso.com" in text
    assert '<td class="number">333</td>' in text
    assert "SIGNIN_TIMEOUT" in text
    # The stacked bar of the usage chart on DAY carries the accepted count.
    assert f"{DAY.isoformat()}: Accepted 9" in text


def test_rows_outside_the_period_are_not_counted(client, hamlet, counts):
    response = _signed_in(client, hamlet).get(URL, {"from": str(DAY + timedelta(days=1)), "to": str(TODAY)})
    board = response.context["dashboard"]
    assert {row.day for row in board.ledger} == {DAY + timedelta(days=1)}
    assert board.usage_total["records"] == 0
    assert [(row["partner"], row["total"]) for row in board.partners] == [("microsoft.com", 4)]


def test_the_default_period_is_the_last_30_days(client, hamlet, counts):
    board = _signed_in(client, hamlet).get(URL).context["dashboard"]
    assert board.date_to == TODAY
    assert board.date_from == TODAY - timedelta(days=29)
    assert len(board.days) == 30


def test_the_current_policy_is_said_in_words(client, hamlet, contoso, counts):
    client = _signed_in(client, hamlet)
    assert "Usage data collection: <strong>On</strong>" in client.get(URL).text
    services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=services.Actor.for_user(hamlet)
    )
    text = client.get(URL).text
    assert "Usage data collection: <strong>Off</strong>" in text
    assert "DisableAutomaticSendTracing" not in text.split("policy-summary")[1].split("</ul>")[0]
    assert "Meetings App telemetry for pool01.contoso.com: <strong>Off (Global)</strong>" in text


def _marker_x(svg_text: str, label: str) -> float:
    match = re.search(
        r'<g class="chart-marker"><title>[^<]*' + re.escape(label) + r'</title><line x1="([\d.]+)"', svg_text
    )
    assert match, f"no marker {label!r}"
    return float(match.group(1))


def test_policy_changes_are_marked_on_the_time_axis(client, hamlet, contoso, counts):
    actor = services.Actor.for_user(hamlet)
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=actor)
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=False, actor=actor)
    off, _on = AuditLogEntry.objects.filter(action="set_client_policy").order_by("id")
    AuditLogEntry.objects.filter(pk=off.pk).update(created_at=off.created_at - timedelta(days=10))
    # A change that is not a policy (a new site) is not a marker.
    services.site_create(tenant=contoso, name="Dublin", actor=actor)

    response = _signed_in(client, hamlet).get(URL)
    text = response.text
    off_label = "Usage data collection turned off by hamlet"
    on_label = "Usage data collection turned on by hamlet"
    assert [words for _, words in response.context["dashboard"].policy_changes] == [off_label, on_label]
    usage_chart = str(response.context["usage_chart"]["svg"])
    # On every chart, the earlier change is drawn left of the later one.
    assert _marker_x(usage_chart, off_label) < _marker_x(usage_chart, on_label)
    assert text.count('<g class="chart-marker">') == 2 * 4  # two changes on four charts
    assert "Dublin" not in usage_chart


def test_changes_made_by_a_command_and_meetings_settings_are_in_words(contoso, contoso_site):
    actor = services.Actor.for_command("set_cs_web_service_configuration")
    scope = services.scope_parse(tenant=contoso, identity="Site:Redmond")
    services.web_service_configuration_set(tenant=contoso, scope=scope, meeting_ux_enable_telemetry=True, actor=actor)
    services.tenant_setting_set(tenant=contoso, setting=services.WATSON, value=False, actor=actor)
    services.web_service_configuration_remove(tenant=contoso, scope=scope, actor=actor)
    words = [
        dashboard_module.policy_change_words(entry)
        for entry in AuditLogEntry.objects.filter(tenant=contoso).order_by("id")
        if entry.action in DASHBOARD_POLICY_ACTIONS
    ]
    assert words == [
        "Meetings App telemetry turned on at Site:Redmond by the set_cs_web_service_configuration command",
        "Windows crash uploads turned off by the set_cs_web_service_configuration command",
        "Meetings App setting at Site:Redmond removed by the set_cs_web_service_configuration command",
    ]


def _csv_sections(body: str) -> dict[str, list[list[str]]]:
    sections, current = {}, None
    for row in csv.reader(io.StringIO(body)):
        if not row:
            current = None
        elif current is None:
            current = sections.setdefault(row[0], [])
        else:
            current.append(row)
    return sections


def test_the_csv_export_holds_what_the_page_shows(client, hamlet, contoso, counts):
    services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=services.Actor.for_user(hamlet)
    )
    client = _signed_in(client, hamlet)
    period = {"from": str(TODAY - timedelta(days=6)), "to": str(TODAY)}
    page = client.get(URL, period)
    response = client.get(EXPORT_URL, period)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"dashboard-contoso-{period['from']}-{period['to']}.csv" in response["Content-Disposition"]
    sections = _csv_sections(response.content.decode())

    assert sections["Tenant"] == [["Tenant", "From", "To"], ["contoso", period["from"], period["to"]]]
    assert ["Usage data collection", "Off"] in sections["Current policy"]
    records = sections["Records per day"]
    assert records[0] == ["Day", "Category", "Accepted", "Dropped by policy", "Rejected", "Duplicates", "Why dropped"]
    assert [str(DAY), "Usage", "9", "0", "0", "0", ""] in records
    assert [str(DAY + timedelta(days=1)), "Usage", "0", "5", "0", "0", "Usage data collection is off: 5"] in records
    assert len(records) - 1 == len(page.context["dashboard"].ledger)
    assert sections["Dropped by policy"][1:] == [
        ["Usage", "Usage data collection is off", "5"],
        ["Error reports", "The user has not opted in to error reporting", "3"],
    ]
    assert sections["Usage by pool"][1:] == [
        ["pool01.contoso.com", "9", "120", "45", "11", "10", "333"],
        ["Total", "9", "120", "45", "11", "10", "333"],
    ]
    assert len(sections["Usage per day"]) - 1 == 7
    # A client-sent string that looks like a formula is neutralized for spreadsheets.
    assert sections["Top federation partners"][1:] == [["microsoft.com", "10"], ["'=HYPERLINK(evil)", "1"]]
    assert sections["Error reports by error code"][1:] == [["SIGNIN_TIMEOUT", "4"]]
    assert [row[1] for row in sections["Policy changes"][1:]] == ["Usage data collection turned off by hamlet"]
    assert "FABRIKAM_ONLY_CODE" not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "2026-02-30"}, "Enter a valid date."),
        ({"to": "yesterday"}, "Enter a valid date."),
        ({"from": "2026-03-10", "to": "2026-03-01"}, period_forms.PERIOD_REVERSED),
        (
            {"from": "2020-01-01", "to": "2026-01-01"},
            period_forms.PERIOD_TOO_LONG.format(days=dashboard_module.MAX_DAYS),
        ),
        ({"to": "0001-01-05"}, period_forms.PERIOD_OUT_OF_RANGE),
        # Without `to`, the period ends today (as in the counts API): a start in 9999 is after it.
        ({"from": "9999-12-30"}, period_forms.PERIOD_REVERSED),
        ({"from": "2026-01-01T00:00"}, "Enter a valid date."),
    ],
)
def test_a_bad_period_is_a_form_error(client, hamlet, counts, query, message):
    client = _signed_in(client, hamlet)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert message in response.text
    assert "dashboard" not in response.context or response.context.get("dashboard") is None
    export = client.get(EXPORT_URL, query)
    assert export.status_code == 400
    assert message in export.content.decode()


def test_the_dashboard_never_queries_the_raw_record_tables(client, iago, counts):
    raw_tables = [model._meta.db_table for model in (CensusRecord, UsageRecord, ErrorReport)]
    client = _signed_in(client, iago)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, {"tenant": "contoso"}).status_code == 200
        assert client.get(EXPORT_URL, {"tenant": "contoso"}).status_code == 200
    sql = "\n".join(query["sql"] for query in queries.captured_queries)
    assert "telemetry_ingestioncount" in sql  # the capture did see the dashboard's reads
    for table in raw_tables:
        assert table not in sql


def test_the_page_has_no_inline_script_or_style(client, hamlet, counts):
    text = _signed_in(client, hamlet).get(URL).text
    assert "style=" not in text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text)
    assert not re.search(r"\son[a-z]+=", text)


def test_only_get_is_allowed(client, hamlet, counts):
    assert _signed_in(client, hamlet).post(URL).status_code == 405


def _usage_record(**fields) -> dict:
    fields.setdefault("federation_partner", "fabrikam.com")
    return usage(timestamp=timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"), **fields)


def test_the_dashboard_shows_what_ingestion_counted(client, hamlet, contoso, contoso_pool):
    ingest_batch(tenant=contoso, records=[_usage_record(), _usage_record(ims_sent=-1)])
    services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=services.Actor.for_user(hamlet)
    )
    ingest_batch(tenant=contoso, records=[_usage_record(), _usage_record(), _usage_record()])

    board = _signed_in(client, hamlet).get(URL).context["dashboard"]
    (row,) = board.ledger
    assert (row.day, row.category, row.accepted, row.dropped, row.rejected) == (TODAY, "usage", 1, 3, 1)
    assert row.why_dropped == "Usage data collection is off: 3"
    assert board.usage_total["ims_sent"] == 12
    assert [(partner["partner"], partner["total"]) for partner in board.partners] == [("fabrikam.com", 1)]
    assert [words for _, words in board.policy_changes] == ["Usage data collection turned off by hamlet"]


def test_the_policy_summary_leads_to_the_policy_page(client, hamlet, iago, contoso, counts):
    policy_url = reverse("admin:tenants_tenant_change", args=[contoso.pk])
    own = _signed_in(client, hamlet).get(URL).text
    assert f'<a href="{policy_url}">Review or change these policies</a>' in own
    # Support staff read the policy page but never change a policy.
    support = _signed_in(client, iago).get(URL, {"tenant": "contoso"}).text
    assert f'<a href="{policy_url}">See these policies in detail</a>' in support
    assert "Review or change these policies" not in support


def test_table_numbers_are_grouped_by_thousands(client, iago, counts):
    body = _signed_in(client, iago).get(URL, {"tenant": "fabrikam"}).text
    # fabrikam's counts are 1000 times contoso's: 9,000 usage records accepted on DAY, 5,000 dropped.
    assert '<td class="number">9,000</td>' in body
    assert '<td class="number">5,000</td>' in body
    assert '<td class="number">9000</td>' not in body

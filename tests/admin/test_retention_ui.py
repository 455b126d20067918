"""Retention in the portal (lifecycle.md, "Retention"): a tenant admin sets how long usage records and
error reports are kept, and whether an opt-out erases a user's reports. Shortening deletes data, so it
is confirmed first with the number of records per table, read from the ledger, never by counting the
record tables."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from telemetry.models import ErrorReport, IngestionCount, UsageRecord
from telemetry.vocabulary import AuditAction
from tenants import consequences, services
from tenants.admin_base import CONFIRM_STOP_FIELD
from tenants.forms import RETENTION_DAYS_INVALID
from tenants.models import AuditLogEntry, Tenant
from tests.conftest import COMMAND_ACTOR

KEEP = {"usage_collection_enabled": "True", "watson_uploads_enabled": "True", "erase_on_opt_out": "True"}


def tenant_url(tenant):
    return reverse("admin:tenants_tenant_change", args=[tenant.pk])


def days_ago(days: int) -> datetime.date:
    return timezone.now().date() - datetime.timedelta(days=days)


def accepted(tenant, category, per_day, days, *, client="desktop", outcome="accepted", reason=""):
    for back in days:
        IngestionCount.objects.create(
            tenant=tenant,
            day=days_ago(back),
            category=category,
            client=client,
            outcome=outcome,
            reason=reason,
            records=per_day,
        )


def retention(usage, errors, **extra):
    return {**KEEP, "keep_usage_days": str(usage), "keep_error_report_days": str(errors), **extra}


def retention_entries(tenant):
    return list(
        AuditLogEntry.objects.filter(tenant=tenant, action=AuditAction.SET_RETENTION)
        .order_by("id")
        .values_list("field", "old_value", "new_value", "actor")
    )


@pytest.fixture
def contoso_counts(contoso, fabrikam):
    """Contoso keeps 60 days. Usage: 5 a day 31 to 40 days ago (would leave at 30 days), 7 a day 25 days
    ago (kept), 1,000 61 days ago (already expired); error reports 3 a day 35 and 45 days ago, from two
    clients. Counts the answer must ignore: drops, rejections, and fabrikam's records of the same days."""
    accepted(contoso, "usage", 5, range(31, 41))
    accepted(contoso, "usage", 7, [25])
    accepted(contoso, "usage", 1000, [61])
    accepted(contoso, "error", 2, [35, 45])
    accepted(contoso, "error", 1, [35, 45], client="meetings_app")
    accepted(contoso, "usage", 400, range(31, 41), outcome="dropped", reason="usage_collection_disabled")
    accepted(contoso, "usage", 400, [35], outcome="rejected", reason="invalid")
    accepted(fabrikam, "usage", 900, range(31, 41))
    accepted(fabrikam, "error", 900, [45])
    return contoso


def test_the_policies_page_shows_the_retention_a_tenant_admin_can_change(client, hamlet, contoso):
    client.force_login(hamlet)
    body = client.get(tenant_url(contoso)).content.decode()
    assert ">Retention</h2>" in body
    assert 'name="keep_usage_days" value="60"' in body
    assert 'name="keep_error_report_days" value="60"' in body
    assert "Erase a user&#x27;s error reports when they opt out" in body
    assert 'min="1"' in body
    assert 'max="2562"' in body


def test_support_staff_read_the_retention_and_cannot_change_it(client, iago, contoso):
    client.force_login(iago)
    body = client.get(tenant_url(contoso)).content.decode()
    assert "Usage records kept for" in body
    assert "60 days" in body
    assert 'name="keep_usage_days"' not in body
    response = client.post(tenant_url(contoso), {**retention(10, 10), CONFIRM_STOP_FIELD: "yes"})
    assert response.status_code == 403
    contoso.refresh_from_db()
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (60, 60)


def test_lengthening_saves_at_once_and_is_audited(client, hamlet, contoso_counts):
    client.force_login(hamlet)
    response = client.post(tenant_url(contoso_counts), retention(90, 400, erase_on_opt_out="False"))
    assert response.status_code == 302
    contoso = Tenant.objects.get(pk=contoso_counts.pk)
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (90, 400)
    assert contoso.erase_error_reports_on_opt_out is False
    assert retention_entries(contoso) == [
        ("KeepUsageRecordsForDays", 60, 90, "hamlet"),
        ("KeepErrorReportForDays", 60, 400, "hamlet"),
    ]
    assert AuditLogEntry.objects.filter(
        tenant=contoso, action=AuditAction.SET_ERASE_ON_OPT_OUT, old_value=True, new_value=False
    ).exists()


def test_shortening_asks_first_and_says_how_many_records_of_each_table_leave(client, hamlet, contoso_counts):
    client.force_login(hamlet)
    asked = client.post(tenant_url(contoso_counts), retention(30, 40))
    assert asked.status_code == 200
    assert asked.context["title"] == "Delete stored records?"
    assert asked.context["stops"] == []
    assert asked.context["deletes"] == [
        f"Usage records kept for 30 days instead of 60: 50 stored usage records dated {days_ago(60)} to "
        f"{days_ago(31)} are deleted.",
        f"Error reports kept for 40 days instead of 60: 3 stored error reports dated {days_ago(60)} to "
        f"{days_ago(41)} are deleted.",
    ]
    body = asked.content.decode()
    assert 'value="Yes, delete them"' in body
    assert "50 stored usage records" in body
    # Nothing is written before the confirmation.
    contoso = Tenant.objects.get(pk=contoso_counts.pk)
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (60, 60)
    assert retention_entries(contoso) == []

    confirmed = client.post(tenant_url(contoso), {**retention(30, 40), CONFIRM_STOP_FIELD: "yes"})
    assert confirmed.status_code == 302
    contoso.refresh_from_db()
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (30, 40)
    assert retention_entries(contoso) == [
        ("KeepUsageRecordsForDays", 60, 30, "hamlet"),
        ("KeepErrorReportForDays", 60, 40, "hamlet"),
    ]


def test_the_count_reads_the_ledger_not_the_record_tables(client, hamlet, contoso_counts):
    client.force_login(hamlet)
    with CaptureQueriesContext(connection) as queries:
        asked = client.post(tenant_url(contoso_counts), retention(30, 40))
    assert asked.status_code == 200
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert IngestionCount._meta.db_table in tables
    assert UsageRecord._meta.db_table not in tables
    assert ErrorReport._meta.db_table not in tables


def test_shortening_one_table_only_names_that_one_and_a_day_without_records_says_none(client, hamlet, contoso_counts):
    client.force_login(hamlet)
    deletes = client.post(tenant_url(contoso_counts), retention(60, 59)).context["deletes"]
    # 59 days: only the day 60 days ago leaves, and it holds no error report.
    assert deletes == [
        f"Error reports kept for 59 days instead of 60: no error reports dated {days_ago(60)} are stored, "
        "so none is deleted now."
    ]


def test_an_erasure_since_those_days_makes_the_error_report_count_a_bound(client, hamlet, contoso_counts):
    services.erasure_receipt_write(
        tenant=contoso_counts, actor=COMMAND_ACTOR, pseudonym="a1b2c3:" + "0" * 64, removed={"error_reports": 2}
    )
    client.force_login(hamlet)
    deletes = client.post(tenant_url(contoso_counts), retention(30, 40)).context["deletes"]
    assert deletes[0].startswith("Usage records kept for 30 days instead of 60: 50 stored usage records")
    assert deletes[1] == (
        f"Error reports kept for 40 days instead of 60: at most 3 stored error reports dated {days_ago(60)} to "
        f"{days_ago(41)} are deleted (some of them may already have been erased or deleted earlier)."
    )


def test_an_erasure_that_removed_nothing_keeps_the_count_exact(client, hamlet, contoso_counts):
    services.erasure_receipt_write(
        tenant=contoso_counts, actor=COMMAND_ACTOR, pseudonym="a1b2c3:" + "0" * 64, removed={"error_reports": 0}
    )
    client.force_login(hamlet)
    deletes = client.post(tenant_url(contoso_counts), retention(60, 40)).context["deletes"]
    assert "at most" not in deletes[0]


def test_an_earlier_shorter_retention_makes_the_usage_count_a_bound(client, hamlet, contoso_counts):
    # 20 days until 10 days ago: the records dated before 30 days ago may be gone already.
    contoso = services.tenant_setting_set(
        tenant=contoso_counts, setting=services.USAGE_RETENTION, value=20, actor=COMMAND_ACTOR
    )
    services.tenant_setting_set(tenant=contoso, setting=services.USAGE_RETENTION, value=60, actor=COMMAND_ACTOR)
    AuditLogEntry.objects.filter(tenant=contoso, action=AuditAction.SET_RETENTION).update(
        created_at=timezone.now() - datetime.timedelta(days=10)
    )
    client.force_login(hamlet)
    deletes = client.post(tenant_url(contoso), retention(30, 60)).context["deletes"]
    assert deletes == [
        f"Usage records kept for 30 days instead of 60: at most 50 stored usage records dated {days_ago(60)} "
        f"to {days_ago(31)} are deleted (some of them may already have been erased or deleted earlier)."
    ]


def test_an_earlier_retention_that_deleted_none_of_those_days_keeps_the_count_exact(client, hamlet, contoso_counts):
    # 100 days until 10 days ago, then 60: nothing of the last 60 days was ever expired.
    contoso = services.tenant_setting_set(
        tenant=contoso_counts, setting=services.USAGE_RETENTION, value=100, actor=COMMAND_ACTOR
    )
    services.tenant_setting_set(tenant=contoso, setting=services.USAGE_RETENTION, value=60, actor=COMMAND_ACTOR)
    client.force_login(hamlet)
    deletes = client.post(tenant_url(contoso), retention(30, 60)).context["deletes"]
    assert deletes[0].startswith("Usage records kept for 30 days instead of 60: 50 stored usage records")


def test_turning_usage_off_and_shortening_asks_once_for_both(client, hamlet, contoso_counts):
    client.force_login(hamlet)
    asked = client.post(tenant_url(contoso_counts), retention(30, 60, usage_collection_enabled="False"))
    assert asked.context["title"] == "Stop collecting data and delete stored records?"
    assert len(asked.context["stops"]) == 1
    assert len(asked.context["deletes"]) == 1
    assert 'value="Yes, stop collecting and delete"' in asked.content.decode()
    contoso = Tenant.objects.get(pk=contoso_counts.pk)
    assert contoso.usage_collection_enabled
    assert contoso.usage_retention_days == 60


@pytest.mark.parametrize("value", ["0", "3000", "-5", "abc", "", "12.5", "2563"])
@pytest.mark.parametrize("field", ["keep_usage_days", "keep_error_report_days"])
def test_bad_days_are_a_form_error_and_change_nothing(client, hamlet, contoso, field, value):
    client.force_login(hamlet)
    data = {**retention(60, 60), field: value}
    for attempt in (data, {**data, CONFIRM_STOP_FIELD: "yes"}):
        response = client.post(tenant_url(contoso), attempt)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors[field] == [RETENTION_DAYS_INVALID]
        assert RETENTION_DAYS_INVALID in response.content.decode()
    contoso.refresh_from_db()
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (60, 60)
    assert retention_entries(contoso) == []
    assert RETENTION_DAYS_INVALID == "Enter a whole number of days from 1 to 2562."


def test_a_bad_value_beside_a_good_one_stores_neither(client, hamlet, contoso):
    client.force_login(hamlet)
    response = client.post(tenant_url(contoso), {**retention(90, 0), CONFIRM_STOP_FIELD: "yes"})
    assert response.status_code == 200
    contoso.refresh_from_db()
    assert contoso.usage_retention_days == 60
    assert retention_entries(contoso) == []


def test_the_bounds_are_accepted(client, hamlet, contoso):
    client.force_login(hamlet)
    response = client.post(tenant_url(contoso), {**retention(2562, 1), CONFIRM_STOP_FIELD: "yes"})
    assert response.status_code == 302
    contoso.refresh_from_db()
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (2562, 1)


def test_a_request_that_names_no_retention_leaves_it_as_it_is(client, hamlet, contoso):
    contoso = services.tenant_setting_set(
        tenant=contoso, setting=services.USAGE_RETENTION, value=200, actor=COMMAND_ACTOR
    )
    client.force_login(hamlet)
    response = client.post(tenant_url(contoso), {"usage_collection_enabled": "True", "watson_uploads_enabled": "True"})
    assert response.status_code == 302
    contoso.refresh_from_db()
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (200, 60)
    assert contoso.erase_error_reports_on_opt_out is True


def test_another_tenants_retention_does_not_exist_for_a_tenant_admin(client, othello, contoso_counts, fabrikam):
    client.force_login(othello)
    url = tenant_url(contoso_counts)
    assert client.get(url).status_code == 404
    for data in (retention(30, 40), {**retention(30, 40), CONFIRM_STOP_FIELD: "yes"}):
        response = client.post(url, data)
        assert response.status_code == 404
        assert "50 stored usage records" not in response.content.decode()
    contoso = Tenant.objects.get(pk=contoso_counts.pk)
    assert (contoso.usage_retention_days, contoso.error_report_retention_days) == (60, 60)
    # Their own page counts their own records: 900 a day of fabrikam's, none of contoso's.
    deletes = client.post(tenant_url(fabrikam), retention(30, 40)).context["deletes"]
    assert deletes[0].startswith("Usage records kept for 30 days instead of 60: 9,000 stored usage records")
    assert deletes[1].startswith("Error reports kept for 40 days instead of 60: 900 stored error reports")


def test_without_the_ledger_the_confirmation_still_asks_and_names_no_number(contoso_counts, monkeypatch):
    monkeypatch.setattr(consequences, "_providers", [])
    lines = consequences.retention_what_if(tenant=contoso_counts, usage_days=30, error_report_days=60)
    assert lines == [
        f"Usage records kept for 30 days instead of 60: the stored usage records dated {days_ago(60)} to "
        f"{days_ago(31)} are deleted."
    ]

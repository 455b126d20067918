"""Records that arrive already expired (lifecycle.md, "Retention"): dropped with the reason `expired`
whatever the policy, census included, counted like any drop and remembered like any dropped id."""

import datetime as dt
import itertools

import pytest

from telemetry.models import ErrorReport, RecordReceipt, UsageRecord
from telemetry.policy import Category, Client, DropReason, MeetingUxSetting, TenantPolicy, decide, reason_words
from telemetry.records import oldest_kept_day
from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import ledger_rows, post_batch, stored_census
from tests.telemetry.factories import census, error, usage

BOOLS = [False, True]


@pytest.mark.parametrize(
    ("category", "client", "disable_tracing", "watson", "meeting_ux", "opted_in", "crash"),
    list(itertools.product(list(Category), list(Client), BOOLS, BOOLS, BOOLS, BOOLS, BOOLS)),
)
def test_an_expired_record_is_dropped_as_expired_whatever_else(
    category, client, disable_tracing, watson, meeting_ux, opted_in, crash
):
    decision = decide(
        category=category,
        client=client,
        tenant_policy=TenantPolicy(disable_automatic_send_tracing=disable_tracing, watson_enabled=watson),
        meeting_ux=MeetingUxSetting(enabled=meeting_ux, identity="Global"),
        user_opted_in=opted_in,
        windows_crash=crash,
        expired=True,
    )
    assert (decision.stored, decision.reason) == (False, DropReason.EXPIRED)
    assert decision.explanation


def test_expired_false_is_the_decision_without_it():
    facts = {"category": Category.USAGE, "client": Client.DESKTOP, "tenant_policy": TenantPolicy()}
    assert decide(**facts, expired=False) == decide(**facts)


def test_the_ledger_says_the_expired_reason_in_words():
    assert reason_words("expired") == "Older than the retention"


USAGE_DAYS, ERROR_DAYS, CENSUS_DAYS = 10, 20, 30


@pytest.fixture
def retention(contoso, settings):
    """contoso keeps usage records 10 days, error reports 20; the installation keeps census 30."""
    settings.TELEMETRY_CENSUS_RETENTION_DAYS = CENSUS_DAYS
    for setting, days in ((services.USAGE_RETENTION, USAGE_DAYS), (services.ERROR_REPORT_RETENTION, ERROR_DAYS)):
        services.tenant_setting_set(tenant=contoso, setting=setting, value=days, actor=COMMAND_ACTOR)
    # Error reports are stored only for users who opted in: so only expiry can drop this one.
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)


def days_ago(days: int) -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)


def at_noon(day: dt.date) -> str:
    return f"{day.isoformat()}T12:00:00Z"


CATEGORIES = [
    pytest.param(census, CENSUS_DAYS, stored_census, id="census"),
    pytest.param(usage, USAGE_DAYS, UsageRecord.objects.all, id="usage"),
    pytest.param(error, ERROR_DAYS, ErrorReport.objects.all, id="error"),
]


@pytest.mark.parametrize(("factory", "retention_days", "stored"), CATEGORIES)
def test_a_record_just_inside_its_retention_is_accepted(
    client, contoso, contoso_pool, contoso_key, retention, factory, retention_days, stored
):
    day = days_ago(retention_days)  # today minus the retention: not older than it, so kept
    assert day == oldest_kept_day(today=days_ago(0), retention_days=retention_days)
    record = factory(timestamp=at_noon(day))

    response = post_batch(client, contoso_key, [record])

    assert response.json()["results"] == [{"id": record["id"], "status": "accepted"}]
    assert stored().count() == 1
    assert ledger_rows(contoso) == {(day.isoformat(), record["category"], "desktop", "accepted", ""): 1}


@pytest.mark.parametrize(("factory", "retention_days", "stored"), CATEGORIES)
def test_a_record_just_outside_its_retention_is_dropped_as_expired(
    client, contoso, contoso_pool, contoso_key, retention, factory, retention_days, stored
):
    day = days_ago(retention_days + 1)
    record = factory(timestamp=at_noon(day))

    response = post_batch(client, contoso_key, [record])

    assert response.status_code == 200
    assert response.json()["dropped"] == 1
    assert response.json()["results"] == [{"id": record["id"], "status": "dropped", "reason": "expired"}]
    assert stored().count() == 0
    assert ledger_rows(contoso) == {(day.isoformat(), record["category"], "desktop", "dropped", "expired"): 1}
    # Not remembered (no receipt: its day's partition may be gone): sent again, it is expired again.
    assert not RecordReceipt.objects.filter(tenant=contoso, record_id=record["id"]).exists()
    again = post_batch(client, contoso_key, [record]).json()
    assert again["results"] == [{"id": record["id"], "status": "dropped", "reason": "expired"}]


def test_expiry_comes_before_the_policy(client, contoso, contoso_pool, contoso_key, retention):
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    old, recent = days_ago(USAGE_DAYS + 1), days_ago(USAGE_DAYS)
    batch = [usage(timestamp=at_noon(old)), usage(timestamp=at_noon(recent))]

    body = post_batch(client, contoso_key, batch).json()

    assert [result["reason"] for result in body["results"]] == ["expired", "usage_collection_disabled"]


def test_each_tenant_expires_by_its_own_retention(
    client, contoso, contoso_pool, contoso_key, fabrikam, fabrikam_pool, fabrikam_key, retention
):
    day = days_ago(USAGE_DAYS + 1)  # past contoso's 10 days, within fabrikam's default 60

    contoso_body = post_batch(client, contoso_key, [usage(timestamp=at_noon(day))]).json()
    fabrikam_body = post_batch(client, fabrikam_key, [usage(timestamp=at_noon(day), pool="pool01.fabrikam.com")]).json()

    assert (contoso_body["dropped"], fabrikam_body["accepted"]) == (1, 1)
    assert UsageRecord.objects.get().tenant == fabrikam

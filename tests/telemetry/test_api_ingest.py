"""POST /api/v1/telemetry: the decision table of domain.md through HTTP, the response, idempotency."""

import re

import pytest

from telemetry.models import (
    ErrorCodeDailyCount,
    ErrorReport,
    FederationPartnerDailyCount,
    IngestionCount,
    RecordReceipt,
    UsageDailySum,
    UsageRecord,
)
from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import ledger_rows, post_batch, stored_census
from tests.telemetry.factories import DAY, census, error, usage


def tracing_off(tenant, pool):
    services.tenant_setting_set(tenant=tenant, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)


def opted_in(tenant, pool):
    services.end_user_set_error_reporting(tenant=tenant, user_id="amosmarble", opted_in=True)


def opted_out(tenant, pool):
    services.end_user_set_error_reporting(tenant=tenant, user_id="amosmarble", opted_in=False)


def meeting_ux(identity, value):
    def setup(tenant, pool):
        scope = services.scope_parse(tenant=tenant, identity=identity)
        services.web_service_configuration_set(
            tenant=tenant, scope=scope, meeting_ux_enable_telemetry=value, actor=COMMAND_ACTOR
        )

    return setup


def watson_off(tenant, pool):
    services.tenant_setting_set(tenant=tenant, setting=services.WATSON, value=False, actor=COMMAND_ACTOR)


SITE = "Site:Redmond"
SERVICE = "Service:WebServer:pool01.contoso.com"
CRASH = {"crash": True, "os_name": "Windows"}

# (record factory, client, extra fields, set-up, expected status, expected drop reason)
DECISION_TABLE = [
    pytest.param(census, "desktop", {}, [tracing_off], "accepted", "", id="census-never-dropped"),
    pytest.param(census, "meetings_app", {}, [], "accepted", "", id="census-meetings-app"),
    pytest.param(usage, "desktop", {}, [], "accepted", "", id="usage-desktop-default-on"),
    pytest.param(usage, "mobile", {}, [], "accepted", "", id="usage-mobile"),
    pytest.param(usage, "web", {}, [], "accepted", "", id="usage-web"),
    pytest.param(
        usage, "desktop", {}, [tracing_off], "dropped", "usage_collection_disabled", id="usage-desktop-tracing-off"
    ),
    pytest.param(usage, "web", {}, [tracing_off], "dropped", "usage_collection_disabled", id="usage-web-tracing-off"),
    pytest.param(
        usage, "meetings_app", {}, [], "dropped", "meeting_ux_telemetry_disabled", id="usage-meetings-app-default-off"
    ),
    pytest.param(
        usage, "meetings_app", {}, [meeting_ux("Global", True)], "accepted", "", id="usage-meetings-app-global-on"
    ),
    pytest.param(
        usage,
        "join_launcher",
        {},
        [meeting_ux(SITE, True), meeting_ux(SERVICE, False)],
        "dropped",
        "meeting_ux_telemetry_disabled",
        id="usage-join-launcher-service-beats-site",
    ),
    pytest.param(
        usage,
        "join_launcher",
        {},
        [meeting_ux("Global", False), meeting_ux(SITE, True)],
        "accepted",
        "",
        id="usage-join-launcher-site-beats-global",
    ),
    pytest.param(
        usage,
        "meetings_app",
        {},
        [tracing_off, meeting_ux("Global", True)],
        "accepted",
        "",
        id="usage-meetings-app-ignores-tracing",
    ),
    pytest.param(error, "desktop", {}, [opted_in], "accepted", "", id="error-desktop-opted-in"),
    pytest.param(error, "mobile", {}, [], "dropped", "user_not_opted_in", id="error-mobile-unknown-user"),
    pytest.param(error, "web", {}, [opted_out], "dropped", "user_not_opted_in", id="error-web-opted-out"),
    pytest.param(
        error,
        "desktop",
        {},
        [opted_in, tracing_off],
        "dropped",
        "usage_collection_disabled",
        id="error-desktop-opted-in-tracing-off",
    ),
    pytest.param(
        error, "meetings_app", {}, [meeting_ux("Global", True)], "accepted", "", id="error-meetings-app-no-opt-in"
    ),
    pytest.param(
        error,
        "join_launcher",
        {},
        [opted_in],
        "dropped",
        "meeting_ux_telemetry_disabled",
        id="error-join-launcher-opt-in-plays-no-part",
    ),
    pytest.param(error, "meetings_app", CRASH, [], "accepted", "", id="windows-crash-watson-on"),
    pytest.param(
        error,
        "meetings_app",
        CRASH,
        [watson_off, meeting_ux("Global", True)],
        "dropped",
        "watson_disabled",
        id="windows-crash-watson-off",
    ),
    pytest.param(
        error,
        "meetings_app",
        {"crash": True, "os_name": "macOS"},
        [],
        "dropped",
        "meeting_ux_telemetry_disabled",
        id="mac-crash-follows-meeting-ux",
    ),
]


@pytest.mark.parametrize(("factory", "client_kind", "extra", "setups", "status", "reason"), DECISION_TABLE)
def test_decision_table(
    client, contoso, contoso_pool, contoso_key, factory, client_kind, extra, setups, status, reason
):
    for setup in setups:
        setup(contoso, contoso_pool)
    record = factory(client=client_kind, **extra)

    response = post_batch(client, contoso_key, [record])

    assert response.status_code == 200
    expected = {"id": record["id"], "status": status}
    if reason:
        expected["reason"] = reason
    assert response.json()["results"] == [expected]
    assert ledger_rows(contoso) == {(DAY, record["category"], client_kind, status, reason): 1}
    stored = {"census": stored_census, "usage": UsageRecord.objects.all, "error": ErrorReport.objects.all}[
        record["category"]
    ]().count()
    assert stored == (1 if status == "accepted" else 0)
    # Accepted and dropped ids are both remembered: a dropped record sent again is a duplicate.
    assert RecordReceipt.objects.filter(tenant=contoso, record_id=record["id"]).exists()


def test_response_counts_results_in_request_order(client, contoso, contoso_pool, contoso_key):
    tracing_off(contoso, contoso_pool)
    first = census()
    batch = [first, usage(), census(id=first["id"]), usage(ims_sent=-1)]

    response = post_batch(client, contoso_key, batch)

    assert response.status_code == 200
    assert response.json() == {
        "accepted": 1,
        "dropped": 1,
        "rejected": 1,
        "duplicates": 1,
        "results": [
            {"id": batch[0]["id"], "status": "accepted"},
            {"id": batch[1]["id"], "status": "dropped", "reason": "usage_collection_disabled"},
            {"id": batch[2]["id"], "status": "duplicate"},
            {
                "id": batch[3]["id"],
                "status": "rejected",
                "reason": "ims_sent: Input should be greater than or equal to 0",
            },
        ],
        "errors": [{"pointer": "/records/3/ims_sent", "detail": "Input should be greater than or equal to 0"}],
    }
    assert stored_census().count() == 1
    assert ledger_rows(contoso) == {
        (DAY, "census", "desktop", "accepted", ""): 1,
        (DAY, "usage", "desktop", "dropped", "usage_collection_disabled"): 1,
        (DAY, "census", "desktop", "duplicate", ""): 1,
        (DAY, "usage", "desktop", "rejected", "invalid"): 1,
    }


def test_the_example_of_api_md_is_accepted_and_pseudonymized(client, contoso, contoso_pool, contoso_key):
    opted_in(contoso, contoso_pool)
    batch = [census(), usage(), error()]

    response = post_batch(client, contoso_key, batch)

    assert response.json()["accepted"] == 3
    report = ErrorReport.objects.get()
    assert report.ip_network == "203.0.113.0/24"
    assert report.user_hash not in ("", "amosmarble")
    assert re.fullmatch(r"[0-9a-f]{6}:[0-9a-f]{64}", report.sip_uri_hash)  # key id and keyed hash
    assert report.tenant == contoso
    assert report.pool == contoso_pool
    census_row = stored_census().get()
    assert census_row.user_hash != "E296D735-4F36-4E18-7C3B-52E1A02A0164"
    assert UsageRecord.objects.get().federation_partner == "microsoft.com"


def test_a_batch_sent_twice_is_stored_and_counted_once(client, contoso, contoso_pool, contoso_key):
    batch = [census(), usage(), error()]
    post_batch(client, contoso_key, batch)

    again = post_batch(client, contoso_key, batch).json()

    assert (again["accepted"], again["dropped"], again["duplicates"]) == (0, 0, 3)
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    assert (stored_census().count(), UsageRecord.objects.count(), ErrorReport.objects.count()) == (1, 1, 0)
    rows = ledger_rows(contoso)
    assert rows[(DAY, "usage", "desktop", "accepted", "")] == 1
    assert rows[(DAY, "usage", "desktop", "duplicate", "")] == 1
    assert rows[(DAY, "error", "desktop", "dropped", "user_not_opted_in")] == 1
    assert rows[(DAY, "error", "desktop", "duplicate", "")] == 1


def test_a_rejected_id_is_not_remembered(client, contoso, contoso_pool, contoso_key):
    record = usage(ims_sent="12")
    assert post_batch(client, contoso_key, [record]).json()["rejected"] == 1

    fixed = post_batch(client, contoso_key, [{**record, "ims_sent": 12}]).json()

    assert fixed["results"] == [{"id": record["id"], "status": "accepted"}]


def test_ids_are_per_tenant(client, contoso, contoso_pool, contoso_key, fabrikam, fabrikam_pool, fabrikam_key):
    record = usage()
    post_batch(client, contoso_key, [record])

    response = post_batch(client, fabrikam_key, [{**record, "pool": "pool01.fabrikam.com"}])

    assert response.json()["accepted"] == 1
    assert UsageRecord.objects.filter(tenant=fabrikam, pool=fabrikam_pool).count() == 1


def test_the_key_alone_decides_the_tenant(client, contoso, contoso_pool, fabrikam, fabrikam_pool, fabrikam_key):
    # A fabrikam key naming a contoso pool: the pool is not fabrikam's, so the record is rejected.
    response = post_batch(client, fabrikam_key, [usage(pool="pool01.contoso.com")])

    assert response.json()["results"][0]["reason"] == "pool: is not a pool of this tenant"
    assert not UsageRecord.objects.exists()
    assert not IngestionCount.objects.filter(tenant=contoso).exists()


def test_usage_sums_and_partner_and_error_code_counts(client, contoso, contoso_pool, contoso_key):
    opted_in(contoso, contoso_pool)
    batch = [
        usage(ims_sent=1, federation_partner="Fabrikam.com"),
        usage(ims_sent=2, federation_partner="fabrikam.com"),
        usage(ims_sent=4, federation_partner=""),
        error(error_code="E1"),
        error(error_code="E1"),
    ]
    post_batch(client, contoso_key, batch)

    sums = UsageDailySum.objects.get(tenant=contoso)
    assert (sums.records, sums.ims_sent, sums.call_minutes) == (3, 7, 90)
    assert list(FederationPartnerDailyCount.objects.values_list("partner", "records")) == [("fabrikam.com", 2)]
    assert list(ErrorCodeDailyCount.objects.values_list("error_code", "records")) == [("E1", 2)]

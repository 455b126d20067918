"""Rejected records (each with its reason) and whole-request failures (each with its exact problem)."""

import datetime as dt
import json

import pytest
from django.db import DatabaseError

from telemetry import storage
from telemetry.models import ErrorReport, IngestionCount, RecordReceipt, UsageDailySum, UsageRecord
from telemetry.schemas import MAX_BODY_BYTES, MAX_RECORDS
from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import TELEMETRY_URL, assert_problem, ledger_rows, post_batch, stored_census
from tests.telemetry.factories import DAY, NEXT_DAY, PREVIOUS_DAY, census, error, usage

# (record, reason, pointers)
REJECTIONS = [
    pytest.param(usage(ims_sent=-1), "ims_sent: Input should be greater than or equal to 0", ["/ims_sent"], id="neg"),
    pytest.param(usage(ims_sent="3"), "ims_sent: Input should be a valid integer", ["/ims_sent"], id="str-counter"),
    pytest.param(usage(ims_sent=True), "ims_sent: Input should be a valid integer", ["/ims_sent"], id="bool-counter"),
    pytest.param(usage(ims_sent=1.5), "ims_sent: Input should be a valid integer", ["/ims_sent"], id="float-counter"),
    pytest.param(
        usage(call_minutes=2**31),
        "call_minutes: Input should be less than or equal to 2147483647",
        ["/call_minutes"],
        id="huge-counter",
    ),
    pytest.param(
        usage(user_id="amosmarble"), "user_id: usage data must not identify a user", ["/user_id"], id="usage-user"
    ),
    pytest.param(
        usage(sip_uri="sip:a@b.c", ip_address="203.0.113.7"),
        "sip_uri: usage data must not identify a user (and 1 more)",
        ["/sip_uri", "/ip_address"],
        id="usage-sip-ip",
    ),
    pytest.param(usage(colour="red"), "colour: Extra inputs are not permitted", ["/colour"], id="unknown-field"),
    pytest.param(
        census(pool="pool01.contoso.com"), "pool: Extra inputs are not permitted", ["/pool"], id="census-pool"
    ),
    pytest.param(
        census(app_name="x" * 65), "app_name: String should have at most 64 characters", ["/app_name"], id="long"
    ),
    pytest.param(census(app_name=""), "app_name: String should have at least 1 character", ["/app_name"], id="empty"),
    pytest.param(
        census(os_name="Win\x00dows"), "os_name: must not contain NUL characters", ["/os_name"], id="nul-character"
    ),
    pytest.param(
        error(ip_address="203.0.113"), "ip_address: must be an IPv4 or IPv6 address", ["/ip_address"], id="ip"
    ),
    pytest.param(
        error(message_direction="sideways"),
        "message_direction: Input should be 'incoming' or 'outgoing'",
        ["/message_direction"],
        id="direction",
    ),
    pytest.param(error(error_code=None), "error_code: Input should be a valid string", ["/error_code"], id="null"),
    pytest.param(census(id="not-a-uuid"), None, ["/id"], id="bad-uuid"),
    pytest.param(census(id=12), "id: UUID input should be a string, bytes or UUID object", ["/id"], id="numeric-id"),
    pytest.param(
        census(timestamp="2026-11-20T09:15:00"),
        "timestamp: must be an RFC 3339 date-time with a time zone, like 2026-11-20T09:15:00Z",
        ["/timestamp"],
        id="naive-timestamp",
    ),
    pytest.param(census(timestamp=1700000000), None, ["/timestamp"], id="epoch-timestamp"),
    pytest.param(usage(pool="pool99.contoso.com"), "pool: is not a pool of this tenant", ["/pool"], id="unknown-pool"),
]


@pytest.mark.parametrize(("record", "reason", "pointers"), REJECTIONS)
def test_a_malformed_record_is_rejected_with_its_reason(
    client, contoso, contoso_pool, contoso_key, record, reason, pointers
):
    good = census()

    body = post_batch(client, contoso_key, [good, record]).json()

    assert body["results"][0] == {"id": good["id"], "status": "accepted"}
    rejected = body["results"][1]
    assert rejected["status"] == "rejected"
    if reason is not None:
        assert rejected["reason"] == reason
    assert rejected["reason"].split(":")[0] == pointers[0][1:]
    assert [error["pointer"] for error in body["errors"]] == [f"/records/1{pointer}" for pointer in pointers]
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert RecordReceipt.objects.count() == 1
    # Without a valid timestamp a record counts on the day it arrived.
    day = dt.datetime.now(dt.UTC).date().isoformat() if "/timestamp" in pointers else DAY
    assert ledger_rows(contoso)[(day, record["category"], "desktop", "rejected", "invalid")] == 1


def test_usage_of_a_rejected_record_is_not_summed(client, contoso, contoso_pool, contoso_key):
    post_batch(client, contoso_key, [usage(ims_sent=-5), usage(ims_sent=7, user_id="x")])

    assert not UsageRecord.objects.exists()
    assert not UsageDailySum.objects.exists()


def test_unknown_category_and_client_and_missing_timestamp_count_as_unknown_today(client, contoso, contoso_key):
    today = dt.datetime.now(dt.UTC).date().isoformat()
    records = [
        {"id": "8c1b6a52-4f0e-4a59-9f53-6d2b1c7f0a11", "category": "gossip", "client": "desktop", "timestamp": "x"},
        census(client="fax_machine", timestamp=f"{PREVIOUS_DAY}T23:30:00-01:00"),
        "not a record",
        usage(timestamp=None),
    ]

    body = post_batch(client, contoso_key, records).json()

    assert [r["status"] for r in body["results"]] == ["rejected"] * 4
    assert body["results"][0]["reason"] == "category: must be one of census, usage, error"
    assert body["results"][2] == {"id": None, "status": "rejected", "reason": "record: a record must be a JSON object"}
    assert ledger_rows(contoso) == {
        (today, "unknown", "desktop", "rejected", "invalid"): 1,
        # a valid timestamp with an offset counts on its UTC day
        (DAY, "census", "unknown", "rejected", "invalid"): 1,
        (today, "unknown", "unknown", "rejected", "invalid"): 1,
        (today, "usage", "desktop", "rejected", "invalid"): 1,
    }


def assert_nothing_happened():
    assert not RecordReceipt.objects.exists()
    assert not IngestionCount.objects.exists()
    assert not stored_census().exists()


def test_no_key_is_401(client, contoso, contoso_key):
    body = assert_problem(post_batch(client, None, [census()]), 401)

    assert body == {
        "type": "urn:telemetry-portal:problem:unauthorized",
        "title": "Not authenticated",
        "status": 401,
        "detail": "A valid ingestion key is required: Authorization: Bearer <key>.",
    }
    assert_nothing_happened()


@pytest.mark.parametrize("header", ["Bearer tpk_unknown", "Basic dXNlcjpwYXNz", "Bearer", "tpk_x"])
def test_an_unknown_or_malformed_key_is_401(client, contoso, contoso_key, header):
    response = client.post(
        TELEMETRY_URL, json.dumps({"records": [census()]}), "application/json", HTTP_AUTHORIZATION=header
    )

    assert_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_nothing_happened()


def test_a_revoked_key_is_401(client, contoso, contoso_key):
    services.ingestion_key_revoke(tenant=contoso, prefix=contoso_key[:12], actor=COMMAND_ACTOR)

    assert_problem(post_batch(client, contoso_key, [census()]), 401)
    assert_nothing_happened()


def test_a_portal_session_never_authenticates_a_client(client, contoso, hamlet):
    client.force_login(hamlet)

    assert_problem(post_batch(client, None, [census()]), 401)
    assert_nothing_happened()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1"]
)
def test_not_json_content_type_is_415(client, contoso, contoso_key, content_type):
    response = post_batch(client, contoso_key, [census()], content_type=content_type)

    assert_problem(response, 415, detail="The body must be JSON sent as Content-Type: application/json (UTF-8).")
    assert_nothing_happened()


def test_json_with_utf8_charset_is_fine(client, contoso, contoso_key):
    response = post_batch(client, contoso_key, [census()], content_type="application/json; charset=UTF-8")

    assert response.json()["accepted"] == 1


def test_a_body_over_one_mebibyte_is_413(client, contoso, contoso_key):
    record = census(app_name="x" * 60)
    body = json.dumps({"records": [record] * 4000})
    assert len(body) > MAX_BODY_BYTES

    assert_problem(
        post_batch(client, contoso_key, body=body), 413, detail=f"The body is larger than {MAX_BODY_BYTES} bytes."
    )
    assert_nothing_happened()


def test_a_body_just_under_the_limit_is_read(client, contoso, contoso_key):
    body = json.dumps({"records": [census()]})
    body = body[:-1] + " " * (MAX_BODY_BYTES - len(body)) + "}"
    assert len(body) == MAX_BODY_BYTES

    assert post_batch(client, contoso_key, body=body).json()["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "detail", "pointers"),
    [
        ("{not json", "The body is not JSON (UTF-8).", None),
        (b"\xff\xfe{}", "The body is not JSON (UTF-8).", None),
        ("[" * 100_000 + "]" * 100_000, "The body is not JSON (UTF-8).", None),
        ("   ", "The body is not JSON (UTF-8).", None),
        ('[{"records": []}]', "The body must be a JSON object.", None),
        ("null", "The body must be a JSON object.", None),
        ("{}", "The body is not a batch of records: records: Field required", ["/records"]),
        ('{"records": {}}', "The body is not a batch of records: records: Input should be a valid list", ["/records"]),
        (
            '{"records": [], "tenant": "fabrikam"}',
            "The body is not a batch of records: tenant: Extra inputs are not permitted",
            ["/tenant"],
        ),
    ],
)
def test_a_body_that_is_not_a_batch_is_400(client, contoso, contoso_key, body, detail, pointers):
    problem = assert_problem(post_batch(client, contoso_key, body=body), 400, detail=detail)

    if pointers is None:
        assert "errors" not in problem
    else:
        assert [e["pointer"] for e in problem["errors"]] == pointers
    assert_nothing_happened()


def test_more_than_1000_records_is_400(client, contoso, contoso_key):
    problem = assert_problem(post_batch(client, contoso_key, [census()] * (MAX_RECORDS + 1)), 400)

    assert problem["detail"] == (
        "The body is not a batch of records: records: List should have at most 1000 items after validation, not 1001"
    )
    assert_nothing_happened()


def test_exactly_1000_records_is_fine(client, contoso, contoso_key):
    assert post_batch(client, contoso_key, [census() for _ in range(MAX_RECORDS)]).json()["accepted"] == MAX_RECORDS


def test_get_is_405(client, contoso, contoso_key):
    response = client.get(TELEMETRY_URL, HTTP_AUTHORIZATION=f"Bearer {contoso_key}")

    assert_problem(response, 405)
    assert response["Allow"] == "POST"


def test_rate_limit_is_429_with_retry_after_and_per_tenant(client, settings, contoso, contoso_key, fabrikam_key):
    settings.TELEMETRY_RATE_LIMIT = 3
    for _ in range(3):
        assert post_batch(client, contoso_key, [census()]).status_code == 200

    response = post_batch(client, contoso_key, [census()])

    problem = assert_problem(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert problem["detail"] == f"The tenant's rate limit is reached; retry in {response['Retry-After']} seconds."
    assert stored_census().count() == 3
    # Another tenant has its own window.
    assert post_batch(client, fabrikam_key, [census()]).status_code == 200


def test_rate_limit_counts_every_key_of_the_tenant(client, settings, contoso, contoso_key):
    settings.TELEMETRY_RATE_LIMIT = 2
    second_key = services.ingestion_key_create(tenant=contoso, actor=COMMAND_ACTOR).secret
    post_batch(client, contoso_key, [census()])
    post_batch(client, second_key, [census()])

    assert_problem(post_batch(client, second_key, [census()]), 429)


def test_rate_limit_window_resets_each_minute(settings, contoso):
    from telemetry.ratelimit import rate_limit_hit

    settings.TELEMETRY_RATE_LIMIT = 1
    assert rate_limit_hit(tenant_id=contoso.pk, now=120.0) is None
    assert rate_limit_hit(tenant_id=contoso.pk, now=150.5) == 30
    assert rate_limit_hit(tenant_id=contoso.pk, now=180.0) is None


@pytest.mark.parametrize("failing", ["insert", "add_counts", "claim"])
def test_a_storage_failure_stores_nothing_and_answers_503(
    client, monkeypatch, contoso, contoso_pool, contoso_key, failing
):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    batch = [census(), usage(), error()]
    storage_class = type(storage.storage_for_connection())
    original = getattr(storage_class, failing)

    def fail_after_starting(self, **kwargs):
        original(self, **kwargs)  # part of the batch reaches the database first ...
        raise DatabaseError("disk full")  # ... then storage fails

    monkeypatch.setattr(storage_class, failing, fail_after_starting)

    response = post_batch(client, contoso_key, batch)

    problem = assert_problem(response, 503)
    assert response["Retry-After"] == "5"
    assert problem["type"] == "urn:telemetry-portal:problem:storage-unavailable"
    assert not RecordReceipt.objects.exists()
    assert not IngestionCount.objects.exists()
    assert (stored_census().count(), UsageRecord.objects.count(), ErrorReport.objects.count()) == (0, 0, 0)
    assert not UsageDailySum.objects.exists()

    monkeypatch.setattr(storage_class, failing, original)
    retried = post_batch(client, contoso_key, batch).json()
    assert retried["accepted"] == 3


def test_a_lone_surrogate_is_rejected_not_stored(client, contoso, contoso_key):
    body = json.dumps({"records": [census(app_name="\ud800")]})
    assert "\\ud800" in body

    answer = post_batch(client, contoso_key, body=body).json()

    assert answer["results"][0]["status"] == "rejected"
    assert answer["results"][0]["reason"].startswith("app_name: Input should be a valid string")
    assert not stored_census().exists()


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-11-20",
        "2026-11-20 09:15:00Z",
        "0000-01-01T00:00:00Z",
        "2026-11-20T09:15:00+24:00",
        "9999-12-31T23:59:59-05:00",
    ],
)
def test_a_timestamp_that_is_not_rfc_3339_or_out_of_range_is_rejected(client, contoso, contoso_key, timestamp):
    answer = post_batch(client, contoso_key, [census(timestamp=timestamp)]).json()

    assert answer["results"][0]["reason"] == (
        "timestamp: must be an RFC 3339 date-time with a time zone, like 2026-11-20T09:15:00Z"
    )


def test_timestamps_are_stored_in_utc_with_their_utc_day(client, contoso, contoso_key):
    post_batch(client, contoso_key, [census(timestamp=f"{DAY}t23:30:00.123456789-02:00")])

    record = stored_census().get()
    next_day = dt.date.fromisoformat(NEXT_DAY)
    assert record.timestamp == dt.datetime.combine(next_day, dt.time(1, 30, 0, 123456), tzinfo=dt.UTC)
    assert record.day == next_day


def test_an_unreachable_rate_limit_cache_lets_telemetry_through(client, monkeypatch, caplog, contoso, contoso_key):
    from telemetry import ratelimit

    def unreachable(*args, **kwargs):
        raise ConnectionError("redis is down")

    monkeypatch.setattr(ratelimit.cache, "add", unreachable)

    assert post_batch(client, contoso_key, [census()]).json()["accepted"] == 1
    assert "The rate-limit cache failed (ConnectionError)" in caplog.text


def test_a_database_outage_before_ingestion_is_503_not_500(client, monkeypatch, contoso, contoso_key):
    from telemetry import api

    def outage(**kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(api, "ingestion_key_authenticate", outage)

    response = post_batch(client, contoso_key, [census()])

    assert_problem(response, 503)
    assert response["Retry-After"] == "5"


def test_a_timestamp_more_than_a_day_ahead_is_rejected(client, contoso, contoso_pool, contoso_key):
    now = dt.datetime.now(dt.UTC)
    soon = (now + dt.timedelta(hours=23)).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = (now + dt.timedelta(days=1, minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")

    body = post_batch(client, contoso_key, [usage(timestamp=soon), usage(timestamp=later)]).json()

    assert [result["status"] for result in body["results"]] == ["accepted", "rejected"]
    assert body["results"][1]["reason"] == "timestamp: must not be more than a day ahead of the portal's clock"

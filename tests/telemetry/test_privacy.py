"""No cleartext user ID, SIP URI or full IP address reaches any table or any log record.

The log records checked here are those the application's loggers emit while the test runs (caplog).
The request lines a server prints (runserver's access log, Django's "Not Found: <path>") are checked
where they are printed, by a real runserver: tests/test_access_log.py.
"""

import json
import logging

import pytest
from django.db import DatabaseError, connection

from telemetry import storage
from tests.telemetry.client_api import post_batch
from tests.telemetry.factories import census, error, usage

USER_ID = "Amos.Marble-7731"
SIP_URI = "sip:amos.marble.7731@contoso.com"
IPV4 = "203.0.113.77"
IPV6 = "2001:db8:1234:5678::4242"
CENSUS_USER_ID = "E296D735-4F36-4E18-7C3B-52E1A02A7731"
SECRETS = [USER_ID, SIP_URI, SIP_URI.removeprefix("sip:"), IPV4, IPV6, CENSUS_USER_ID]


def every_stored_value():
    """Every value of every column of every table, as text."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - table names come from introspection
            values.extend(str(value) for row in cursor.fetchall() for value in row if value is not None)
    return values


def assert_no_secret_in(texts):
    for text in texts:
        lowered = text.casefold()
        for secret in SECRETS:
            assert secret.casefold() not in lowered, f"{secret!r} found in {text[:200]!r}"


def hostile_batch():
    return [
        census(user_id=CENSUS_USER_ID),
        error(user_id=USER_ID, sip_uri=SIP_URI, ip_address=IPV4),
        error(user_id=USER_ID, sip_uri=SIP_URI.upper(), ip_address=IPV6, client="meetings_app"),
        error(user_id=USER_ID, sip_uri=SIP_URI, ip_address=IPV4, client="mobile"),  # dropped or accepted
        error(user_id=USER_ID, sip_uri=SIP_URI, ip_address="not-an-ip"),  # rejected
        error(user_id=USER_ID, sip_uri=SIP_URI, ip_address=IPV4, colour=USER_ID),  # rejected, echoes no value
        usage(user_id=USER_ID, sip_uri=SIP_URI, ip_address=IPV4),  # rejected: usage must not identify
        {"category": "error", USER_ID: SIP_URI, "ip_address": IPV4},  # a hostile field name
    ]


@pytest.mark.django_db
def test_no_cleartext_identifier_is_stored_or_logged(client, caplog, contoso, contoso_pool, contoso_key):
    caplog.set_level(logging.DEBUG)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {contoso_key}"}

    opt_in = client.put(f"/api/v1/users/{USER_ID}/error-reporting", '{"opted_in": true}', "application/json", **bearer)
    assert opt_in.json() == {"user": USER_ID, "opted_in": True}
    # The user's own failures name them in the path; Django must not log that path.
    assert client.put(f"/api/v1/users/{USER_ID}/error-reporting", "{", "application/json", **bearer).status_code == 400
    assert client.put(f"/api/v1/users/{USER_ID}/error-reporting", "{}", "text/plain", **bearer).status_code == 415
    assert client.get(f"/api/v1/users/{USER_ID}/error-reporting", **bearer).status_code == 405
    assert client.put(f"/api/v1/users/{USER_ID}/error-reporting", "{}", "application/json").status_code == 401
    client.get("/api/v1/policy", {"user": USER_ID, "pool": "pool01.contoso.com"}, **bearer)
    client.get("/api/v1/policy", {"user": USER_ID, "pool": "nowhere.contoso.com"}, **bearer)

    response = post_batch(client, contoso_key, hostile_batch())
    assert response.status_code == 200
    # census, the desktop error of an opted-in user and the mobile one; the Meetings App error is
    # dropped (MeetingUxEnableTelemetry is off by default), the other four are rejected.
    assert response.json()["accepted"] == 3
    assert (response.json()["dropped"], response.json()["rejected"]) == (1, 4)
    # Values are never echoed (field names are: a client that names a field after its user gets that back).
    response_text = json.dumps(response.json())
    assert IPV4 not in response_text
    assert SIP_URI not in response_text

    assert_no_secret_in(every_stored_value())
    assert_no_secret_in(record.getMessage() for record in caplog.records)
    assert caplog.records  # the capture works: Django logged the 4xx of the other endpoints


@pytest.mark.django_db
def test_a_storage_failure_logs_no_identifier(client, caplog, monkeypatch, contoso, contoso_pool, contoso_key):
    caplog.set_level(logging.DEBUG)
    storage_class = type(storage.storage_for_connection())

    def fail(self, **kwargs):
        raise DatabaseError(f"value too long: {USER_ID} {IPV4}")

    monkeypatch.setattr(storage_class, "insert", fail)

    assert post_batch(client, contoso_key, hostile_batch()).status_code == 503

    messages = [record.getMessage() for record in caplog.records]
    assert any("nothing was kept" in message for message in messages)
    assert_no_secret_in(messages)
    assert_no_secret_in(every_stored_value())

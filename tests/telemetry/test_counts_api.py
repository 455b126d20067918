"""GET /portal/api/counts: the shape of api.md, scoping (404 for another tenant), only the count tables."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import assert_problem, post_batch
from tests.telemetry.factories import DAY, DAY_DATE, NEXT_DAY, census, error, usage

URL = "/portal/api/counts"
PERIOD = {
    "from": (DAY_DATE - dt.timedelta(days=19)).isoformat(),
    "to": (DAY_DATE + dt.timedelta(days=10)).isoformat(),
}


@pytest.fixture
def contoso_traffic(client, contoso, contoso_pool, contoso_key):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    post_batch(client, contoso_key, [census(), usage(), usage(ims_sent=3), error(), error(user_id="nobody")])
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    post_batch(client, contoso_key, [usage(timestamp=f"{NEXT_DAY}T00:00:00Z")])


def test_counts_shape_as_in_api_md(client, hamlet, contoso_traffic):
    client.force_login(hamlet)

    response = client.get(URL, {"tenant": "contoso", **PERIOD})

    assert response.status_code == 200
    assert response.json() == {
        "tenant": "contoso",
        "from": PERIOD["from"],
        "to": PERIOD["to"],
        "ledger": [
            {
                "day": DAY,
                "category": "census",
                "client": "desktop",
                "outcome": "accepted",
                "reason": "",
                "records": 1,
            },
            {
                "day": DAY,
                "category": "error",
                "client": "desktop",
                "outcome": "accepted",
                "reason": "",
                "records": 1,
            },
            {
                "day": DAY,
                "category": "error",
                "client": "desktop",
                "outcome": "dropped",
                "reason": "user_not_opted_in",
                "records": 1,
            },
            {
                "day": DAY,
                "category": "usage",
                "client": "desktop",
                "outcome": "accepted",
                "reason": "",
                "records": 2,
            },
            {
                "day": NEXT_DAY,
                "category": "usage",
                "client": "desktop",
                "outcome": "dropped",
                "reason": "usage_collection_disabled",
                "records": 1,
            },
        ],
        "usage": {
            "ims_sent": 15,
            "ims_received": 10,
            "meeting_join_attempts": 10,
            "meeting_join_successes": 8,
            "call_minutes": 60,
        },
        "error_reports": 1,
        "scrubbed": 0,  # the factory's error report quotes nobody in its free text
    }


def test_counts_period_is_inclusive_and_reads_only_count_tables(client, hamlet, contoso_traffic):
    client.force_login(hamlet)

    with CaptureQueriesContext(connection) as queries:
        body = client.get(URL, {"tenant": "contoso", "from": NEXT_DAY, "to": NEXT_DAY}).json()

    assert [row["day"] for row in body["ledger"]] == [NEXT_DAY]
    assert body["usage"]["ims_sent"] == 0
    assert body["error_reports"] == 0
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    for raw_table in ("telemetry_usagerecord", "telemetry_errorreport", "telemetry_censusrecord"):
        assert raw_table not in sql


def test_counts_default_to_the_last_30_days(client, hamlet):
    client.force_login(hamlet)
    today = dt.datetime.now(dt.UTC).date()

    body = client.get(URL, {"tenant": "contoso"}).json()

    assert (body["from"], body["to"]) == ((today - dt.timedelta(days=29)).isoformat(), today.isoformat())
    assert body["ledger"] == []


def test_a_tenant_admin_may_omit_their_own_tenant(client, hamlet, contoso_traffic):
    client.force_login(hamlet)

    assert client.get(URL, PERIOD).json()["tenant"] == "contoso"


def test_another_tenant_is_404_for_a_tenant_admin(client, hamlet, othello, contoso_traffic):
    client.force_login(othello)

    missing = assert_problem(client.get(URL, {"tenant": "nosuchtenant"}), 404)
    other = assert_problem(client.get(URL, {"tenant": "contoso", **PERIOD}), 404)

    assert other["title"] == missing["title"]
    assert client.get(URL, {"tenant": "fabrikam"}).status_code == 200


def test_support_sees_every_tenant(client, iago, othello, contoso_traffic):
    client.force_login(iago)

    assert len(client.get(URL, {"tenant": "contoso", **PERIOD}).json()["ledger"]) == 5
    assert client.get(URL, {"tenant": "fabrikam", **PERIOD}).json()["ledger"] == []
    assert_problem(client.get(URL, PERIOD), 400, detail="Name a tenant: ?tenant=<slug>.")


def test_not_signed_in_is_401_and_a_key_opens_nothing(client, contoso, contoso_key):
    assert_problem(client.get(URL, {"tenant": "contoso"}), 401)
    assert_problem(client.get(URL, {"tenant": "contoso"}, HTTP_AUTHORIZATION=f"Bearer {contoso_key}"), 401)


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"from": "yesterday"}, "from must be a date like 2026-11-20."),
        ({"to": "2026-02-30"}, "to must be a date like 2026-11-20."),
        ({"to": "20261120"}, "to must be a date like 2026-11-20."),
        ({"from": "2026-11-20", "to": "2026-11-01"}, "from must not be after to."),
        # The default start is 29 days before `to`: before year 1 it does not exist.
        ({"to": "0001-01-01"}, "The period must lie between the years 1 and 9999."),
        ({"to": "0001-01-29"}, "The period must lie between the years 1 and 9999."),
        ({"to": "0000-12-31"}, "to must be a date like 2026-11-20."),
        ({"to": "10000-01-01"}, "to must be a date like 2026-11-20."),
        ({"from": "9999-12-31"}, "from must not be after to."),
        ({"from": "0001-01-02", "to": "0001-01-01"}, "from must not be after to."),
    ],
)
def test_bad_dates_are_400(client, hamlet, params, detail):
    client.force_login(hamlet)

    assert_problem(client.get(URL, {"tenant": "contoso", **params}), 400, detail=detail)


@pytest.mark.parametrize(
    ("params", "period", "records"),
    [
        ({"to": "0001-01-30"}, ("0001-01-01", "0001-01-30"), 0),
        ({"from": "9999-12-31", "to": "9999-12-31"}, ("9999-12-31", "9999-12-31"), 0),
        ({"from": "0001-01-01", "to": "9999-12-31"}, ("0001-01-01", "9999-12-31"), 6),
    ],
)
def test_the_edges_of_the_calendar_are_answered(client, hamlet, contoso_traffic, params, period, records):
    client.force_login(hamlet)

    response = client.get(URL, {"tenant": "contoso", **params})

    assert response.status_code == 200
    body = response.json()
    assert (body["from"], body["to"]) == period
    assert sum(row["records"] for row in body["ledger"]) == records


@pytest.mark.parametrize("slug", ["a\x01b", "Contoso", "contoso\n", "x" * 100])
def test_odd_slugs_are_404(client, iago, contoso, slug):
    client.force_login(iago)

    assert_problem(client.get(URL, {"tenant": slug}), 404)

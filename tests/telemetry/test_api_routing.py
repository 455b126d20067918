"""Routing of the JSON endpoints: user IDs holding "/", and what unmatched paths and failures answer."""

import logging

import pytest
from django.test import Client

from tenants.models import EndUser
from tenants.selectors import end_user_find
from tests.telemetry.client_api import assert_problem


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.mark.parametrize(
    ("path", "user_id"),
    [
        ("/api/v1/users/dom%2Fuser/error-reporting", "dom/user"),
        ("/api/v1/users/dom/user/error-reporting", "dom/user"),
        ("/api/v1/users/a/error-reporting/b/error-reporting", "a/error-reporting/b"),
        ("/api/v1/users/amos%20marble/error-reporting", "amos marble"),
    ],
)
def test_a_user_id_may_hold_a_slash(client, caplog, contoso, contoso_key, path, user_id):
    caplog.set_level(logging.DEBUG)

    response = client.put(path, '{"opted_in": true}', "application/json", **bearer(contoso_key))

    assert response.status_code == 200
    assert response.json() == {"user": user_id, "opted_in": True}
    assert end_user_find(tenant=contoso, user_id=user_id).error_reporting_opted_in is True
    assert EndUser.objects.count() == 1
    assert not [record for record in caplog.records if record.name.startswith("django.")]


@pytest.mark.parametrize(
    "path",
    [
        "/api/",
        "/api/v1/nothing",
        "/api/v1/telemetry/",
        "/api/v1/users/amosmarble7731",
        "/api/v1/users/amosmarble7731/error-reporting/",
        "/api/v1/users/amosmarble7731/other",
        "/portal/api/",
        "/portal/api/counts/amosmarble7731",
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_an_unmatched_api_path_is_a_quiet_problem_404(
    client, caplog, settings, contoso, contoso_key, path, method, debug
):
    # With DEBUG (the demo), Django's technical 404 page would replace handler404: a client author
    # trying the demo must still get problem+json.
    settings.DEBUG = debug
    caplog.set_level(logging.DEBUG)

    response = client.generic(method, path, "{}", content_type="application/json", **bearer(contoso_key))

    body = assert_problem(response, 404, detail="There is no such endpoint.")
    assert body["type"] == "urn:telemetry-portal:problem:not-found"
    # Neither the answer nor a log line repeats the path: it may hold a user ID.
    assert "amosmarble7731" not in response.content.decode()
    assert not [record for record in caplog.records if path.rstrip("/") in record.getMessage()]


@pytest.mark.parametrize("path", ["/portal/nothing", "/portal/dashboard/nothing", "/nothing", "/apis/v1/telemetry"])
def test_an_unmatched_page_is_an_html_404(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.urls("tests.telemetry.urls_raising")
def test_a_failure_on_an_api_path_is_a_problem_500(db, caplog):
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/failing")

    body = assert_problem(response, 500, detail="The server could not answer this request.")
    assert body["type"] == "urn:telemetry-portal:problem:server-error"
    assert "RuntimeError" not in response.content.decode()
    # A bug is logged, with its traceback, for the operator.
    [record] = [record for record in caplog.records if record.name == "django.request"]
    assert record.exc_info is not None


@pytest.mark.urls("tests.telemetry.urls_raising")
def test_a_failure_elsewhere_is_the_usual_500_page(db):
    client = Client(raise_request_exception=False)

    response = client.get("/portal/failing")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"HTTP_HOST": "evil.example"},  # a Host that is not allowed: Django's 400 before any view
        {"QUERY_STRING": "&".join(f"f{n}=1" for n in range(1100))},  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
    ],
)
def test_a_request_django_refuses_before_any_view_is_a_problem_under_the_api(client, db, request_kwargs):
    response = client.get("/api/v1/openapi.json", **request_kwargs)
    if response.status_code == 200:  # the query string is read lazily: make a view read it
        response = client.get("/portal/api/counts", **request_kwargs)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"

"""GET /api/v1/policy, PUT /api/v1/users/<id>/error-reporting and GET /api/v1/openapi.json."""

import json
from pathlib import Path

import jsonschema
import pytest

from tenants import services
from tenants.models import EndUser
from tenants.selectors import end_user_find
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import assert_problem

# The request example of api.md ("POST /api/v1/telemetry"), copied verbatim so that the suite runs
# without ../shared beside the repository.
API_MD_EXAMPLE = Path(__file__).resolve().parent / "api_md_example.json"


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_policy_defaults_as_in_api_md(client, contoso, contoso_pool, contoso_key):
    response = client.get("/api/v1/policy", {"user": "amosmarble", "pool": "pool01.contoso.com"}, **bearer(contoso_key))

    assert response.json() == {
        "census": True,
        "usage": True,
        "error_reporting": False,
        "meetings_app": False,
        "explain": {
            "usage": "DisableAutomaticSendTracing is False (tenant default)",
            "error_reporting": "user amosmarble has not opted in",
            "meetings_app": "MeetingUxEnableTelemetry False at Global",
        },
    }


def test_policy_follows_the_settings(client, contoso, contoso_pool, contoso_key):
    services.end_user_set_error_reporting(tenant=contoso, user_id="AmosMarble", opted_in=True)
    scope = services.scope_parse(tenant=contoso, identity="Service:WebServer:pool01.contoso.com")
    services.web_service_configuration_set(
        tenant=contoso, scope=scope, meeting_ux_enable_telemetry=True, actor=COMMAND_ACTOR
    )

    body = client.get(
        "/api/v1/policy", {"user": "amosmarble", "pool": "POOL01.contoso.com"}, **bearer(contoso_key)
    ).json()

    assert (body["usage"], body["error_reporting"], body["meetings_app"]) == (True, True, True)
    assert body["explain"]["error_reporting"] == "user amosmarble has opted in"
    assert body["explain"]["meetings_app"] == "MeetingUxEnableTelemetry True at Service:WebServer:pool01.contoso.com"

    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    body = client.get("/api/v1/policy", {"user": "amosmarble"}, **bearer(contoso_key)).json()

    assert (body["census"], body["usage"], body["error_reporting"]) == (True, False, False)
    assert body["explain"]["usage"] == "DisableAutomaticSendTracing is True (set by the tenant)"
    assert body["explain"]["meetings_app"] == "MeetingUxEnableTelemetry False at Global"


def test_policy_without_user_explains_the_opt_in(client, contoso, contoso_key):
    body = client.get("/api/v1/policy", **bearer(contoso_key)).json()

    assert body["error_reporting"] is False
    assert body["explain"]["error_reporting"] == "no user given: error reporting needs the user's own opt-in"


@pytest.mark.parametrize("pool", ["pool01.fabrikam.com", "nowhere", "a\x01b", "x" * 300])
def test_policy_for_a_pool_the_tenant_lacks_is_404(client, contoso, contoso_pool, fabrikam_pool, contoso_key, pool):
    response = client.get("/api/v1/policy", {"pool": pool}, **bearer(contoso_key))

    assert_problem(response, 404)


def test_policy_needs_a_key(client, contoso, hamlet):
    client.force_login(hamlet)

    assert_problem(client.get("/api/v1/policy"), 401)


def test_policy_user_too_long_is_400(client, contoso, contoso_key):
    assert_problem(client.get("/api/v1/policy", {"user": "u" * 129}, **bearer(contoso_key)), 400)


def test_the_user_sets_their_own_opt_in(client, contoso, fabrikam, contoso_key):
    url = "/api/v1/users/AmosMarble/error-reporting"

    response = client.put(url, '{"opted_in": true}', "application/json", **bearer(contoso_key))

    assert response.json() == {"user": "AmosMarble", "opted_in": True}
    assert end_user_find(tenant=contoso, user_id="amosmarble").error_reporting_opted_in is True
    assert end_user_find(tenant=fabrikam, user_id="amosmarble") is None
    assert not EndUser.objects.filter(user_hash__icontains="amos").exists()

    response = client.put(url, '{"opted_in": false}', "application/json", **bearer(contoso_key))

    assert response.json() == {"user": "AmosMarble", "opted_in": False}
    assert EndUser.objects.get().error_reporting_opted_in is False


@pytest.mark.parametrize(
    ("body", "pointer"),
    [('{"opted_in": "yes"}', "/opted_in"), ("{}", "/opted_in"), ('{"opted_in": true, "x": 1}', "/x"), ("[]", "")],
)
def test_a_bad_opt_in_body_is_400_with_pointers(client, contoso, contoso_key, body, pointer):
    response = client.put("/api/v1/users/amosmarble/error-reporting", body, "application/json", **bearer(contoso_key))

    problem = assert_problem(response, 400)
    assert problem["errors"][0]["pointer"] == (pointer or "/")
    assert not EndUser.objects.exists()


def test_opt_in_needs_a_key_and_put(client, contoso, contoso_key):
    url = "/api/v1/users/amosmarble/error-reporting"
    assert_problem(client.put(url, '{"opted_in": true}', "application/json"), 401)
    assert_problem(client.post(url, '{"opted_in": true}', "application/json", **bearer(contoso_key)), 405)
    assert_problem(client.put(url, '{"opted_in": true}', "text/plain", **bearer(contoso_key)), 415)
    assert not EndUser.objects.exists()


def api_md_example():
    """The request example of api.md."""
    return json.loads(API_MD_EXAMPLE.read_text())


def test_openapi_is_served_and_validates_the_example_of_api_md(client, db):
    document = client.get("/api/v1/openapi.json").json()

    assert document["openapi"].startswith("3.")
    assert set(document["paths"]) == {
        "/api/v1/telemetry",
        "/api/v1/policy",
        "/api/v1/error-reporting",
        "/api/v1/users/{user_id}/error-reporting",
    }
    schemas = document["components"]["schemas"]
    batch_schema = {**schemas["TelemetryBatch"], "components": {"schemas": schemas}}
    validator = jsonschema.Draft202012Validator(batch_schema, format_checker=jsonschema.FormatChecker())

    example = api_md_example()
    validator.validate(example)
    assert len(example["records"]) == 3
    # ... and the same schema refuses what the API rejects.
    for bad in (
        {**example["records"][1], "user_id": "amosmarble"},
        {**example["records"][1], "ims_sent": -1},
        {**example["records"][0], "app_name": "x" * 65},
    ):
        assert not validator.is_valid({"records": [bad]})
    assert not validator.is_valid({"records": [example["records"][0]] * 1001})

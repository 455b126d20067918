"""Real responses of the JSON endpoints against the schemas the portal publishes for them.

The response models of telemetry/schemas.py are the one declaration: the views answer with them and
the OpenAPI description is generated from them. These tests hold the two together from the outside:
each response a client can get is validated against its schema, with no property the schema does not
declare (pydantic's schemas allow extra properties; here they are closed, so an undeclared key fails).
"""

import json

import jsonschema
import pytest

from telemetry.schemas import CountsResponse, openapi_document
from tests.telemetry.client_api import closed, post_batch
from tests.telemetry.factories import census, error, usage

DOCUMENT = closed(openapi_document())


def assert_matches(body, component: str):
    """`body` against #/components/schemas/<component> of the OpenAPI description."""
    schema = {"$ref": f"#/components/schemas/{component}", "components": DOCUMENT["components"]}
    jsonschema.Draft202012Validator(schema).validate(body)


def response_schema(path: str, method: str, status: int) -> str:
    """The component the OpenAPI description names for a response."""
    content = DOCUMENT["paths"][path][method]["responses"][str(status)]["content"]
    (media,) = content.values()
    return media["schema"]["$ref"].rsplit("/", 1)[1]


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_closing_a_schema_catches_an_undeclared_key():
    with pytest.raises(jsonschema.ValidationError):
        assert_matches({"user": "amosmarble", "opted_in": True, "pseudonym": "x"}, "ErrorReportingResponse")


def test_a_batch_answer_matches_its_schema(client, contoso_pool, contoso_key):
    records = [census(), usage(pool="pool01.contoso.com"), error(pool="pool01.contoso.com"), usage(ims_sent=-1)]
    response = post_batch(client, contoso_key, records)

    assert response.status_code == 200
    body = response.json()
    # The optional parts are present, so they are checked too.
    assert body["rejected"] == 1
    assert body["errors"]
    assert "reason" not in body["results"][0]  # an accepted record has no reason
    assert_matches(body, response_schema("/api/v1/telemetry", "post", 200))


def test_a_batch_without_errors_leaves_them_out(client, contoso_pool, contoso_key):
    body = post_batch(client, contoso_key, [census()]).json()
    assert "errors" not in body
    assert_matches(body, "BatchResponse")


@pytest.mark.parametrize("query", [{}, {"user": "amosmarble", "pool": "pool01.contoso.com"}])
def test_a_policy_answer_matches_its_schema(client, contoso_pool, contoso_key, query):
    response = client.get("/api/v1/policy", query, **bearer(contoso_key))
    assert response.status_code == 200
    assert_matches(response.json(), response_schema("/api/v1/policy", "get", 200))


def test_an_opt_in_answer_matches_its_schema(client, contoso, contoso_key):
    response = client.put(
        "/api/v1/users/amosmarble/error-reporting",
        json.dumps({"opted_in": True}),
        content_type="application/json",
        **bearer(contoso_key),
    )
    assert response.status_code == 200
    assert_matches(response.json(), response_schema("/api/v1/users/{user_id}/error-reporting", "put", 200))


@pytest.mark.parametrize(
    ("key", "body", "status"),
    [
        (None, {"records": []}, 401),
        ("contoso", "not json", 400),
        ("contoso", {"records": "no"}, 400),
    ],
)
def test_problems_match_their_schema(client, contoso, contoso_key, key, body, status):
    response = post_batch(
        client, contoso_key if key else None, body=body if isinstance(body, str) else json.dumps(body)
    )
    assert response.status_code == status
    assert_matches(response.json(), response_schema("/api/v1/telemetry", "post", status))


def test_a_problem_with_field_errors_matches_its_schema(client, contoso, contoso_key):
    response = post_batch(client, contoso_key, body=json.dumps({"records": [], "extra": 1}))
    body = response.json()
    assert response.status_code == 400
    assert body["errors"]
    assert_matches(body, "Problem")


def test_the_counts_answer_matches_its_schema(client, hamlet, contoso_pool, contoso_key):
    post_batch(client, contoso_key, [usage(pool="pool01.contoso.com"), error(pool="pool01.contoso.com")])
    client.force_login(hamlet)

    body = client.get("/portal/api/counts").json()

    assert body["ledger"]
    assert set(body) == {"tenant", "from", "to", "ledger", "usage", "error_reports", "scrubbed"}
    schema = closed(CountsResponse.model_json_schema(by_alias=True, mode="serialization"))
    jsonschema.Draft202012Validator(schema).validate(body)

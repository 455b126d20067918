"""Helpers of the ingestion tests: posting as a telemetry client, reading the ledger, problem shapes."""

import copy
import json

from telemetry.maintenance import census_move_staged
from telemetry.models import CensusRecord, IngestionCount

TELEMETRY_URL = "/api/v1/telemetry"


def post_batch(client, key, records=None, *, body=None, content_type="application/json", **headers):
    if body is None:
        body = json.dumps({"records": records})
    if key is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client.generic("POST", TELEMETRY_URL, body, content_type=content_type, **headers)


def ledger_rows(tenant) -> dict[tuple, int]:
    return {
        (row.day.isoformat(), row.category, row.client, row.outcome, row.reason): row.records
        for row in IngestionCount.objects.filter(tenant=tenant)
    }


def assert_problem(response, status: int, *, detail: str | None = None) -> dict:
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:telemetry-portal:problem:")
    assert body["title"]
    assert body["detail"]
    if detail is not None:
        assert body["detail"] == detail
    return body


def stored_census():
    """The census rows batches stored, moved into the census table as the maintenance moves them
    (census rows are staged first: lifecycle.md, "Census unlinkability")."""
    census_move_staged()
    return CensusRecord.objects


def closed(schema):
    """A copy of a JSON schema in which every object schema refuses properties it does not declare."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema

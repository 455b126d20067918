"""The ingestion API's fast path (schemas.parse_batch: the body parsed and validated by pydantic-core in
one pass) answers exactly as the careful path (json.loads, the envelope, each record on its own) does."""

import json
import uuid
from unittest import mock

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry import api
from telemetry.schemas import FAST_RECORD_MODELS, parse_batch
from tests.telemetry.client_api import ledger_rows, post_batch
from tests.telemetry.factories import census, error, usage
from tests.telemetry.test_hostile_payloads import json_values, records


def _answer(client, key, tenant, body) -> tuple[int, object, dict]:
    """Status, JSON answer and the ledger the request would leave, then everything rolled back."""
    with transaction.atomic():
        response = post_batch(client, key, body=body)
        ledger = ledger_rows(tenant)
        transaction.set_rollback(True)
    return response.status_code, json.loads(response.content), ledger


def _both_paths(client, key, tenant, body) -> tuple[tuple, tuple]:
    fast = _answer(client, key, tenant, body)
    with mock.patch.object(api, "parse_batch", return_value=None):
        careful = _answer(client, key, tenant, body)
    return fast, careful


def _pair(name: str, value: object) -> str:
    return f"{json.dumps(name)}: {json.dumps(value)}"


@st.composite
def record_texts(draw):
    """One record as JSON text: as json.dumps writes it, or with a key repeated (the last one counts, for
    Python's json module), or with its id spelled another way pydantic reads as a UUID."""
    record = draw(records)
    if isinstance(record, dict) and draw(st.booleans()):
        identifier = draw(st.sampled_from([str(uuid.uuid4()), str(uuid.uuid4()).upper(), None]))
        if identifier is not None:
            spellings = [identifier, "{" + identifier + "}", "urn:uuid:" + identifier, identifier.replace("-", "")]
            record["id"] = draw(st.sampled_from(spellings))
    text = json.dumps(record)
    if isinstance(record, dict) and record and draw(st.booleans()):
        name = draw(st.sampled_from(["category", "id", "timestamp", "pool", "user_id", *record]))
        value = draw(json_values)
        pair = _pair(name, value)
        text = "{" + pair + ", " + text[1:] if draw(st.booleans()) else text[:-1] + ", " + pair + "}"
    return text


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(batch=st.lists(record_texts(), max_size=8), extra=st.sampled_from(["", ', "colour": 1', ', "records": []']))
def test_the_fast_path_answers_every_batch_as_the_careful_path_does(
    client, contoso, contoso_pool, contoso_key, batch, extra
):
    body = ('{"records": [' + ", ".join(batch) + "]" + extra + "}").encode()

    fast, careful = _both_paths(client, contoso_key, contoso, body)

    assert fast == careful


def test_a_valid_batch_takes_the_fast_path_and_an_invalid_record_is_left_for_the_careful_one(contoso_pool):
    records = [census(), usage(pool=contoso_pool.fqdn), error(pool=contoso_pool.fqdn), usage(ims_sent=-1)]

    parsed = parse_batch(json.dumps({"records": records}).encode())

    assert [isinstance(item, FAST_RECORD_MODELS) for item in parsed] == [True, True, True, False]
    assert parsed[3] == records[3]  # as Python's json module reads it, for validate_record
    assert parsed[0].id_as_sent == records[0]["id"]


def test_a_body_pydantic_core_reads_otherwise_than_python_takes_the_careful_path():
    lone_surrogate = b'{"records": [{"category": "census", "app_name": "\\ud800"}]}'
    too_many = json.dumps({"records": [{}] * 1001}).encode()

    assert parse_batch(lone_surrogate) is None
    assert parse_batch(too_many) is None
    assert parse_batch(b"[]") is None


def test_a_lone_surrogate_is_rejected_with_the_same_reason_on_both_paths(client, contoso, contoso_pool, contoso_key):
    good = census()
    body = json.dumps({"records": [good, census(app_name="\ud800")]}).encode()

    fast, careful = _both_paths(client, contoso_key, contoso, body)

    assert fast == careful
    status, answer, _ = fast
    assert status == 200
    assert [result["status"] for result in answer["results"]] == ["accepted", "rejected"]
    assert answer["errors"][0]["pointer"] == "/records/1/app_name"


def test_an_id_spelled_otherwise_is_echoed_as_sent(client, contoso, contoso_pool, contoso_key):
    spelled = "{" + str(uuid.uuid4()).upper() + "}"

    response = post_batch(client, contoso_key, [census(id=spelled)])

    assert response.json()["results"] == [{"id": spelled, "status": "accepted"}]

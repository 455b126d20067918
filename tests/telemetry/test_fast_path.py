"""The ingestion API's fast path (schemas.parse_batch: the body parsed by msgspec, each record decoded into
a Struct, ids and timestamps converted for the whole batch) answers exactly as the careful path
(json.loads, the envelope, each record validated by its pydantic model) does."""

import datetime as dt
import json
import uuid
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry import api
from telemetry.schemas import (
    FAST_RECORD_MODELS,
    BatchAnswer,
    CensusRecordIn,
    ErrorReportIn,
    UsageRecordIn,
    parse_batch,
    validate_record,
)
from tests.telemetry.client_api import ledger_rows, post_batch
from tests.telemetry.factories import DAY, census, error, usage
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


# Where msgspec's own rules differ from the models', the fast path leaves the record to them: each of
# these is either taken with the models' values or handed over as parsed JSON, never judged otherwise.
EDGE_RECORDS = [
    census(timestamp=f"{DAY}t09:15:00z"),
    census(timestamp=f"{DAY}T09:15:00+05:30"),
    census(timestamp=f"{DAY}T23:15:00-05:00"),  # the next day in UTC
    census(timestamp=f"{DAY}T09:15:00.123456Z"),
    census(timestamp=f"{DAY}T09:15:00.1234567Z"),  # msgspec would round, the models cut
    census(timestamp=f"{DAY} 09:15:00Z"),  # msgspec would read it, the models do not
    census(timestamp=f"{DAY}T09:15:00"),  # no time zone
    census(timestamp=f"{DAY}T09:15:00+00:99"),  # an offset Python reads, msgspec does not
    census(timestamp="9999-12-31T23:59:59-23:59"),  # beyond datetime once in UTC
    census(timestamp=(dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")),
    census(id=str(uuid.uuid4()).replace("-", "").upper()),
    census(id="{" + str(uuid.uuid4()) + "}"),
    census(id="urn:uuid:" + str(uuid.uuid4())),
    census(id=str(uuid.uuid4())[:-1] + "g"),
    census(device_id=str(uuid.uuid4()).upper().replace("-", "")),
    census(app_name="a\x00b"),
    census(app_name="\ud83d\ude00" * 64),  # 64 characters, 128 UTF-16 units
    census(app_name="\ud83d\ude00" * 65),
    census(sign_in_attempts=2**31 - 1),
    census(sign_in_attempts=2**31),
    census(sign_in_attempts=True),
    census(sign_in_attempts=3.0),
    census(client="DESKTOP"),
    usage(federation_partner="fabrikam.com"),
    usage(federation_partner="someone@fabrikam.com"),
    usage(federation_partner="203.0.113.7"),
    usage(federation_partner=""),
    usage(user_id="amosmarble"),
    error(ip_address="203.0.113.7"),
    error(ip_address=" 203.0.113.7"),
    error(ip_address="2001:db8::1"),
    error(ip_address="203.0.113.256"),
    error(ip_address=None),
    error(sip_uri=None),
    error(message_direction="sideways"),
    error(crash=1),
]


@pytest.mark.parametrize("record", EDGE_RECORDS, ids=range(len(EDGE_RECORDS)))
def test_a_record_the_fast_path_takes_has_the_values_the_models_give(record):
    (parsed,) = parse_batch(json.dumps({"records": [record]}).encode())
    careful = validate_record(json.loads(json.dumps(record)), index=0)

    if not isinstance(parsed, FAST_RECORD_MODELS):
        assert parsed == json.loads(json.dumps(record))  # left to validate_record as parsed JSON
        return
    assert isinstance(careful, CensusRecordIn | UsageRecordIn | ErrorReportIn)
    for name, value in careful.model_dump().items():
        fast = getattr(parsed, name)
        assert fast == value, name
        if name == "timestamp":
            assert fast.utcoffset() == dt.timedelta(0)
    assert parsed.day == careful.timestamp.date()
    assert parsed.id_as_sent == record["id"]


@pytest.mark.parametrize("record", EDGE_RECORDS, ids=range(len(EDGE_RECORDS)))
def test_an_edge_record_gets_the_same_answer_on_both_paths(client, contoso, contoso_pool, contoso_key, record):
    if "pool" in record:
        record = {**record, "pool": contoso_pool.fqdn}
    body = json.dumps({"records": [census(), record]}).encode()

    fast, careful = _both_paths(client, contoso_key, contoso, body)

    assert fast == careful


def test_a_nul_anywhere_in_the_body_sends_only_its_record_to_the_models():
    records = [census(), census(app_name="a\x00b"), census(os_name="\\u0000 spelled out")]

    parsed = parse_batch(json.dumps({"records": records}).encode())

    assert [isinstance(item, FAST_RECORD_MODELS) for item in parsed] == [True, False, False]


def test_a_deeply_nested_record_sends_the_whole_body_to_the_careful_path():
    deep = {"category": "census", "app_name": json.loads("[" * 300 + "]" * 300)}

    assert parse_batch(json.dumps({"records": [census(), deep]}).encode()) is None


def test_the_answer_is_written_as_the_response_model_would_write_it():
    results = [
        {"id": 'ÅÆ\u2028\x01"/<>&', "status": "accepted"},
        {"id": None, "status": "rejected", "reason": "timestamp: must be…"},
        {"id": "x", "status": "dropped", "reason": "user_not_opted_in"},
        {"id": "y", "status": "duplicate"},
    ]
    answer = BatchAnswer(results=results, errors=[("/records/1/timestamp", "must be…")])

    assert answer.json() == answer.response().model_dump_json(exclude_unset=True).encode()
    assert json.loads(answer.json())["accepted"] == 1


@pytest.mark.parametrize("raw", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\t"])
def test_a_record_python_cannot_read_sends_the_whole_body_to_the_careful_path(raw):
    text = json.dumps(census(app_name="PLACEHOLDER")).encode().replace(b"PLACEHOLDER", b"x" + raw + b"y")

    assert parse_batch(b'{"records": [' + text + b"]}") is None

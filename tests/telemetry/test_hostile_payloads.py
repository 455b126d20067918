"""Hostile and malformed payloads: never a 5xx, and never a stored row from a rejected record."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetry.models import ErrorReport, IngestionCount, RecordReceipt, StagedCensusRecord, UsageRecord
from tests.telemetry.client_api import post_batch
from tests.telemetry.factories import census, error, usage

FIELDS = sorted({*census(), *usage(), *error(), "crash", "os_name", "colour"})
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["census", "usage", "error", "desktop", "meetings_app", "2026-11-20T09:15:00Z", "\x00", "\ud800"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def mutated_records(draw):
    """A valid record with some fields replaced, removed or added: close enough to get deep into validation."""
    record = draw(st.sampled_from([census, usage, error]))(
        client=draw(st.sampled_from(["desktop", "meetings_app", "web"]))
    )
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4)):
        action = draw(st.sampled_from(["replace", "remove"]))
        if action == "remove":
            record.pop(name, None)
        else:
            record[name] = draw(json_values)
    return record


records = st.one_of(mutated_records(), json_values)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(batch=st.lists(records, max_size=8), as_text=st.booleans(), junk=st.binary(max_size=30))
def test_hostile_batches_never_fail_the_server(client, contoso, contoso_pool, contoso_key, batch, as_text, junk):
    before = {model: model.objects.count() for model in (StagedCensusRecord, UsageRecord, ErrorReport, RecordReceipt)}
    body = json.dumps({"records": batch}) if as_text else junk

    response = post_batch(client, contoso_key, body=body)

    assert response.status_code < 500
    stored = {model: model.objects.count() - before[model] for model in before}
    if response.status_code != 200:
        assert not any(stored.values())
        return
    answer = response.json()
    assert len(answer["results"]) == len(batch)
    kept = answer["accepted"] + answer["dropped"]
    assert stored[RecordReceipt] == kept
    assert sum(stored[model] for model in (StagedCensusRecord, UsageRecord, ErrorReport)) == answer["accepted"]
    assert answer["accepted"] + answer["dropped"] + answer["rejected"] + answer["duplicates"] == len(batch)
    assert IngestionCount.objects.filter(tenant=contoso).exists() or not batch

"""The record layout of telemetry/records.py is the one the models store."""

import pytest
from django.db import models

from telemetry.models import UsageDailySum
from telemetry.records import USAGE_COUNTER_NAMES, USAGE_COUNTERS
from telemetry.schemas import UsageRecordIn
from telemetry.storage import RECORD_TABLES


@pytest.mark.parametrize("category", list(RECORD_TABLES))
def test_the_layout_names_every_stored_column_once(category):
    model, columns = RECORD_TABLES[category]
    numbered = isinstance(model._meta.pk, models.AutoField)  # the database numbers these rows itself
    stored = [field.column for field in model._meta.concrete_fields if not (field.primary_key and numbered)]
    assert sorted(columns) == sorted(stored)


def test_each_usage_counter_is_a_field_of_requests_records_and_daily_sums():
    model, _ = RECORD_TABLES["usage"]
    for counter in USAGE_COUNTERS:
        assert model._meta.get_field(counter.name).verbose_name == counter.label
        assert UsageDailySum._meta.get_field(counter.name).get_internal_type() == "BigIntegerField"
        assert UsageRecordIn.model_fields[counter.name].default == 0
    assert len(set(USAGE_COUNTER_NAMES)) == len(USAGE_COUNTERS)

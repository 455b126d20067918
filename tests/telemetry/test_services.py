"""ingest_batch called directly, as seed_demo does: results, stored rows and the ledger."""

import datetime as dt

import pytest
from django.db import connection

from telemetry.models import CensusRecord, ErrorReport, IngestionCount, RecordReceipt, UsageDailySum, UsageRecord
from telemetry.services import ingest_batch
from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import stored_census
from tests.telemetry.factories import DAY, DAY_DATE, PREVIOUS_DAY, census, error, usage


def ledger(tenant):
    return {
        (row.category, row.client, row.outcome, row.reason): row.records
        for row in IngestionCount.objects.filter(tenant=tenant)
    }


def test_mixed_batch_is_decided_stored_and_counted(contoso, contoso_pool):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    batch = [census(), usage(), error(), error(user_id="desdemona"), usage(pool="nowhere.contoso.com")]

    result = ingest_batch(tenant=contoso, records=batch)

    assert [r.status for r in result.results] == ["accepted", "accepted", "accepted", "dropped", "rejected"]
    assert result.results[3].reason == "user_not_opted_in"
    assert result.results[4].reason == "pool: is not a pool of this tenant"
    assert [(error.pointer, error.detail) for error in result.errors] == [
        ("/records/4/pool", "is not a pool of this tenant")
    ]
    assert (stored_census().count(), UsageRecord.objects.count(), ErrorReport.objects.count()) == (1, 1, 1)
    assert RecordReceipt.objects.filter(tenant=contoso).count() == 4
    assert ledger(contoso) == {
        ("census", "desktop", "accepted", ""): 1,
        ("usage", "desktop", "accepted", ""): 1,
        ("error", "desktop", "accepted", ""): 1,
        ("error", "desktop", "dropped", "user_not_opted_in"): 1,
        ("usage", "desktop", "rejected", "invalid"): 1,
    }
    sums = UsageDailySum.objects.get(tenant=contoso, pool=contoso_pool)
    assert (sums.day, sums.records, sums.ims_sent, sums.call_minutes) == (DAY_DATE, 1, 12, 30)


def test_a_policy_change_after_the_tenant_was_loaded_is_seen(contoso, contoso_pool):
    stale = contoso
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)

    result = ingest_batch(tenant=stale, records=[usage()])

    assert result.results[0].reason == "usage_collection_disabled"
    assert not UsageRecord.objects.exists()


def test_the_same_ids_again_are_duplicates_counted_once(contoso, contoso_pool):
    batch = [census(), usage(), error()]
    ingest_batch(tenant=contoso, records=batch)

    again = ingest_batch(tenant=contoso, records=batch)

    assert again.duplicates == 3
    assert (stored_census().count(), UsageRecord.objects.count()) == (1, 1)
    assert ledger(contoso)[("usage", "desktop", "accepted", "")] == 1
    assert ledger(contoso)[("usage", "desktop", "duplicate", "")] == 1


def _columns(model) -> dict[str, str]:
    """The table's columns as the database reports them, each with the Django field type it maps to."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
    return {column.name: connection.introspection.get_field_type(column.type_code, column) for column in description}


@pytest.mark.django_db
def test_census_table_has_no_column_that_links_a_row_to_a_tenant_or_a_batch():
    columns = _columns(CensusRecord)

    assert set(columns) == {
        "id",
        "day",
        "timestamp",
        "client",
        "app_name",
        "device_model",
        "os_name",
        "os_version",
        "user_language",
        "user_hash",
        "device_id",
        "sign_in_attempts",
        "sign_in_failures",
    }
    # `timestamp` is the client's own time of the record; nothing records when the row arrived.
    assert not [name for name in columns if name.startswith(("tenant", "pool", "record", "received", "created"))]
    assert CensusRecord._meta.pk.get_internal_type() == "UUIDField"


def test_receipts_keep_their_record_s_day_and_no_time_of_day(contoso, contoso_pool):
    ingest_batch(tenant=contoso, records=[census(timestamp=f"{PREVIOUS_DAY}T23:59:00Z"), usage()])

    columns = _columns(RecordReceipt)
    assert "DateTimeField" not in columns.values()
    assert columns["day"] == "DateField"
    assert not [name for name in columns if name.startswith(("received", "created"))]
    days = set(RecordReceipt.objects.filter(tenant=contoso).values_list("day", flat=True))
    assert days == {dt.date.fromisoformat(PREVIOUS_DAY), dt.date.fromisoformat(DAY)}
    assert all(type(day) is dt.date for day in days)


def test_census_rows_get_random_ids_unrelated_to_their_order_of_arrival(contoso):
    # Each record's client timestamp is one second after the previous one's: the order they were sent in.
    for batch in range(3):
        ingest_batch(
            tenant=contoso,
            records=[census(timestamp=f"{DAY}T09:{batch:02d}:{second:02d}Z") for second in range(20)],
        )

    ids = list(stored_census().order_by("timestamp").values_list("id", flat=True))
    assert len(set(ids)) == 60
    assert {record_id.version for record_id in ids} == {4}
    # A sequence, or a time-ordered UUID, would sort as the rows were written.
    assert sorted(ids) != ids

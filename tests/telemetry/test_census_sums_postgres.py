"""On PostgreSQL: the census sums are written in the census move's own transaction, never in a batch's,
so the database's bookkeeping (xmin, the id of the transaction that wrote a row) ties them to no tenant."""

import datetime as dt

import pytest
from django.db import connection

from telemetry.maintenance import census_move_staged
from telemetry.models import CensusDailySum, CensusRecord, IngestionCount, RecordReceipt, StagedCensusRecord
from telemetry.services import ingest_batch
from tests.telemetry.factories import DAY_DATE, PREVIOUS_DAY, census

PREVIOUS_DAY_DATE = DAY_DATE - dt.timedelta(days=1)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def transaction_ids(model) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT xmin::text FROM {model._meta.db_table}")  # noqa: S608
        return {row[0] for row in cursor.fetchall()}


def row_transaction(model, **lookup) -> str:
    """The xmin of the one row of `model` that matches `lookup`."""
    sql, params = model.objects.filter(**lookup).values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        table, pk = model._meta.db_table, model._meta.pk.column
        cursor.execute(f"SELECT xmin::text FROM {table} WHERE {pk} IN ({sql})", params)  # noqa: S608
        (row,) = cursor.fetchall()
        return row[0]


def test_the_sums_share_the_moves_transaction_and_no_batchs(contoso, contoso_pool, fabrikam, fabrikam_pool):
    ingest_batch(tenant=contoso, records=[census() for _ in range(5)])
    ingest_batch(tenant=fabrikam, records=[census(timestamp=f"{PREVIOUS_DAY}T08:00:00Z") for _ in range(3)])
    batches = transaction_ids(RecordReceipt) | transaction_ids(IngestionCount)
    assert len(transaction_ids(RecordReceipt)) == 2  # one transaction per batch: the check can tell them apart
    assert transaction_ids(StagedCensusRecord) <= batches
    assert not CensusDailySum.objects.exists()  # nothing summed in a batch's transaction

    assert census_move_staged() == 8

    (move,) = transaction_ids(CensusRecord)
    assert transaction_ids(CensusDailySum) == {move}
    assert move not in batches
    assert CensusDailySum.objects.get(day=DAY_DATE).records == 5

    # A later move updates the day's row: the row now carries that move's transaction, still no batch's.
    ingest_batch(tenant=contoso, records=[census(sign_in_attempts=40)])
    batches |= transaction_ids(RecordReceipt)
    assert census_move_staged() == 1
    second_move = row_transaction(CensusRecord, sign_in_attempts=40)
    assert second_move != move
    assert row_transaction(CensusDailySum, day=DAY_DATE) == second_move
    assert row_transaction(CensusDailySum, day=PREVIOUS_DAY_DATE) == move
    assert not transaction_ids(CensusDailySum) & batches
    updated = CensusDailySum.objects.get(day=DAY_DATE)
    assert (updated.records, updated.sign_in_attempts, updated.sign_in_failures) == (6, 5 * 3 + 40, 6)

"""The census sums (CensusDailySum): filled by the maintenance's census move, in its own transaction, never
at ingestion; installation-wide; kept when census records expire."""

import datetime as dt
import importlib
import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import DatabaseError
from django.db.models import Count, Sum

from telemetry import maintenance
from telemetry.maintenance import census_move_staged, purge_expired
from telemetry.models import CensusDailySum, CensusRecord, StagedCensusRecord
from telemetry.services import ingest_batch
from tests.telemetry.factories import DAY_DATE, PREVIOUS_DAY, census

PREVIOUS_DAY_DATE = DAY_DATE - dt.timedelta(days=1)


def sums() -> dict[dt.date, tuple[int, int, int]]:
    return {
        row.day: (row.records, row.sign_in_attempts, row.sign_in_failures)
        for row in CensusDailySum.objects.order_by("day")
    }


def census_table_summed() -> dict[dt.date, tuple[int, int, int]]:
    """The census table itself, summed per day: what the sums must equal."""
    return {
        row["day"]: (row["records"], row["attempts"], row["failures"])
        for row in CensusRecord.objects.values("day")
        .annotate(records=Count("id"), attempts=Sum("sign_in_attempts"), failures=Sum("sign_in_failures"))
        .order_by("day")
    }


@pytest.fixture
def two_tenants_batches(contoso, contoso_pool, fabrikam, fabrikam_pool):
    """Three batches of two tenants over two days; the factory's census record has 3 attempts, 1 failure."""
    ingest_batch(tenant=contoso, records=[census(), census(sign_in_attempts=10, sign_in_failures=4)])
    ingest_batch(tenant=contoso, records=[census(timestamp=f"{PREVIOUS_DAY}T23:59:59Z", sign_in_attempts=7)])
    ingest_batch(tenant=fabrikam, records=[census(sign_in_failures=0, sign_in_attempts=0), census()])


def test_nothing_is_summed_at_ingestion_census_rows_wait_staged(two_tenants_batches):
    assert StagedCensusRecord.objects.count() == 5
    assert not CensusDailySum.objects.exists()
    assert not CensusRecord.objects.exists()


def test_the_move_sums_the_moved_rows_per_day(two_tenants_batches):
    assert census_move_staged() == 5

    assert sums() == {
        DAY_DATE: (4, 3 + 10 + 0 + 3, 1 + 4 + 0 + 1),
        PREVIOUS_DAY_DATE: (1, 7, 1),
    }
    assert sums() == census_table_summed()


def test_a_second_run_adds_nothing_twice_and_a_later_move_adds_to_the_day(contoso, contoso_pool, two_tenants_batches):
    census_move_staged()
    first = sums()

    assert census_move_staged() == 0
    assert sums() == first

    ingest_batch(tenant=contoso, records=[census(sign_in_attempts=100, sign_in_failures=50)])
    assert sums() == first  # staged, not yet summed
    assert census_move_staged() == 1
    assert sums() == {DAY_DATE: (5, 116, 56), PREVIOUS_DAY_DATE: (1, 7, 1)}
    assert sums() == census_table_summed()


def test_a_duplicate_or_a_rejected_census_record_is_not_summed(contoso, contoso_pool):
    record = census(sign_in_attempts=9)
    ingest_batch(tenant=contoso, records=[record, census(sign_in_attempts=-1)])
    result = ingest_batch(tenant=contoso, records=[record])
    assert result.duplicates == 1

    census_move_staged()

    assert sums() == {DAY_DATE: (1, 9, 1)}


def test_the_sums_and_the_move_are_one_transaction(two_tenants_batches, monkeypatch):
    """If the sums cannot be written, nothing moves: the staged rows wait for the next run."""
    monkeypatch.setattr(maintenance, "_ADD_CENSUS_SUMS", "INSERT INTO no_such_table {rows}")

    with pytest.raises(DatabaseError):
        census_move_staged()

    assert StagedCensusRecord.objects.count() == 5
    assert not CensusRecord.objects.exists()
    assert not CensusDailySum.objects.exists()


def test_maintain_telemetry_fills_the_sums_and_they_stay_when_census_records_expire(two_tenants_batches, settings):
    call_command("maintain_telemetry", stdout=io.StringIO())
    before = sums()
    assert before[DAY_DATE] == (4, 16, 6)
    settings.TELEMETRY_CENSUS_RETENTION_DAYS = 1  # the records are dated five and six days ago

    purged = purge_expired(today=dt.datetime.now(dt.UTC).date())

    assert purged["census"].rows == 5
    assert not CensusRecord.objects.exists()
    assert sums() == before


def test_the_migration_sums_the_census_moved_before_it(db):
    """Census rows moved before the table existed are summed once when it is created."""
    for day, attempts, failures in ((DAY_DATE, 2, 1), (DAY_DATE, 5, 0), (PREVIOUS_DAY_DATE, 4, 4)):
        CensusRecord.objects.create(
            day=day,
            timestamp=dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC),
            client="desktop",
            app_name="Skype",
            device_model="PC",
            os_name="Windows",
            os_version="10",
            user_language="EN-US",
            user_hash="0" * 71,
            device_id="5e872200-f546-4ccd-8f23-af5f507aa2dd",
            sign_in_attempts=attempts,
            sign_in_failures=failures,
        )
    migration = importlib.import_module("telemetry.migrations.0006_censusdailysum")

    migration.sum_the_census_already_moved(apps, None)

    assert sums() == {DAY_DATE: (2, 7, 1), PREVIOUS_DAY_DATE: (1, 4, 4)}

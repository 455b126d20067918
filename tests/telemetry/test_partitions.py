"""Day partitions (PostgreSQL), receipts keyed by the record's day, no foreign-key checks on the hot
tables, and the maintenance's partition upkeep (issue 8; telemetry/partitions.py)."""

import datetime as dt
import io
import threading
import time
import uuid

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, connections
from django.db.models.expressions import RawSQL
from django.test import Client

from telemetry import partitions
from telemetry.maintenance import purge_expired
from telemetry.models import (
    CensusRecord,
    ErrorReport,
    IngestionCount,
    RecordReceipt,
    UsageDailySum,
    UsageRecord,
)
from telemetry.partitions import Partition, day_partitions, ensure_day_partitions, partition_name
from telemetry.services import ingest_batch
from tenants import services
from tenants.models import Tenant
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import post_batch, stored_census
from tests.telemetry.factories import DAY_DATE, NEXT_DAY, census, error, usage

TODAY = dt.datetime.now(dt.UTC).date()
TABLES = sorted(model._meta.db_table for model in (UsageRecord, ErrorReport, CensusRecord, RecordReceipt))


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def at_noon(day: dt.date) -> str:
    return f"{day.isoformat()}T12:00:00Z"


def partitions_of(table: str) -> dict[dt.date, Partition]:
    with connection.cursor() as cursor:
        return {partition.day: partition for partition in day_partitions(cursor, [table])}


def partition_of_row(model, **filters) -> str:
    """The partition a row is stored in (tableoid)."""
    found = model.objects.filter(**filters).annotate(partition=RawSQL("tableoid::regclass::text", []))
    return found.values_list("partition", flat=True).get()


def drop_days(*days: dt.date) -> None:
    """Drop these days' partitions of every partitioned table, for real (a transactional test)."""
    for table in TABLES:
        found = partitions_of(table)
        for day in days:
            if day in found:
                partitions.drop_partition(found[day])


def retain(tenant, *, usage_days: int, error_report_days: int) -> None:
    for setting, days in ((services.USAGE_RETENTION, usage_days), (services.ERROR_REPORT_RETENTION, error_report_days)):
        services.tenant_setting_set(tenant=tenant, setting=setting, value=days, actor=COMMAND_ACTOR)


def usage_rows(pool, day: dt.date, count: int = 1) -> None:
    UsageRecord.objects.bulk_create(
        UsageRecord(
            tenant_id=pool.tenant_id,
            pool=pool,
            record_id=uuid.uuid4(),
            day=day,
            timestamp=dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC),
            client="desktop",
        )
        for _ in range(count)
    )


def server_url() -> str:
    """A libpq URL of the test database, for the connections that play other sessions."""
    settings = connection.settings_dict
    return (
        f"postgresql://{settings['USER'] or 'postgres'}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


# --- On both databases: the idempotency rule, no foreign-key checks, the ORM's delete ----------------


def test_the_same_id_dated_another_day_is_another_record(client, contoso, contoso_pool, contoso_key):
    first = usage()
    again_next_day = {**first, "timestamp": f"{NEXT_DAY}T09:15:00Z"}

    assert post_batch(client, contoso_key, [first]).json()["results"][0]["status"] == "accepted"
    assert post_batch(client, contoso_key, [first]).json()["results"][0]["status"] == "duplicate"
    assert post_batch(client, contoso_key, [again_next_day]).json()["results"][0]["status"] == "accepted"

    assert sorted(UsageRecord.objects.filter(record_id=first["id"]).values_list("day", flat=True)) == [
        DAY_DATE,
        DAY_DATE + dt.timedelta(days=1),
    ]
    assert RecordReceipt.objects.filter(tenant=contoso, record_id=first["id"]).count() == 2


def test_a_retry_days_after_its_first_arrival_is_still_a_duplicate(
    client, monkeypatch, contoso, contoso_pool, contoso_key
):
    record = usage()
    assert post_batch(client, contoso_key, [record]).json()["accepted"] == 1
    # Two days later by the portal's clock: the receipt is found by the record's own day.
    later = TODAY + dt.timedelta(days=2)
    monkeypatch.setattr("telemetry.services.utc_today", lambda: later)

    body = post_batch(client, contoso_key, [record]).json()

    assert body["results"] == [{"id": record["id"], "status": "duplicate"}]
    assert UsageRecord.objects.filter(record_id=record["id"]).count() == 1


def test_deleting_a_tenant_through_the_orm_deletes_its_rows_without_database_constraints(
    contoso, contoso_pool, fabrikam, fabrikam_pool
):
    # fabrikam has no site (a site protects its tenant from deletion): it is the one deleted.
    services.end_user_set_error_reporting(tenant=fabrikam, user_id="amosmarble", opted_in=True)
    for tenant in (contoso, fabrikam):
        pool = f"pool01.{tenant.slug}.com"
        ingest_batch(tenant=tenant, records=[usage(pool=pool), error(pool=pool), census()])
    tables = (UsageRecord, ErrorReport, RecordReceipt, IngestionCount, UsageDailySum)
    assert all(model.objects.filter(tenant=fabrikam).exists() for model in tables)

    Tenant.objects.all_tenants().filter(pk=fabrikam.pk).delete()

    assert not any(model.objects.filter(tenant_id=fabrikam.pk).exists() for model in tables)
    assert all(model.objects.filter(tenant=contoso).exists() for model in (UsageRecord, RecordReceipt, UsageDailySum))


def test_the_hot_tables_have_no_foreign_key_constraint_nor_single_column_key_index(db):
    hot = (UsageRecord, ErrorReport, RecordReceipt, IngestionCount, UsageDailySum)
    with connection.cursor() as cursor:
        for model in hot:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
            assert not [name for name, c in constraints.items() if c["foreign_key"]], model
            assert not [
                name
                for name, c in constraints.items()
                if c["index"] and not c["primary_key"] and c["columns"] in (["tenant_id"], ["pool_id"])
            ], model


# --- PostgreSQL: the partitions themselves --------------------------------------------------------------


@pytest.mark.postgres
def test_the_record_tables_and_the_receipts_are_partitioned_by_day(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, p.partstrat, a.attname FROM pg_partitioned_table p "
            "JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
            "WHERE c.relname LIKE 'telemetry%%' ORDER BY 1"
        )
        assert cursor.fetchall() == [(table, "r", "day") for table in TABLES]
        cursor.execute(
            "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = ANY(%s::regclass[]) AND c.relkind <> 'r'",
            [TABLES],
        )
        assert cursor.fetchone() == (0,)  # every partition is a table: no DEFAULT, no sub-partitioning
    assert partitions.partitioned_tables() == TABLES


@pytest.mark.postgres
def test_rows_land_in_the_partition_of_their_day_whose_indexes_are_named_after_the_parent_s(
    contoso, contoso_pool, contoso_key
):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    record = usage()
    assert post_batch(Client(), contoso_key, [record, error(), census()]).json()["accepted"] == 3
    stored_census()

    assert partition_of_row(UsageRecord, record_id=record["id"]) == partition_name("telemetry_usagerecord", DAY_DATE)
    assert partition_of_row(ErrorReport) == partition_name("telemetry_errorreport", DAY_DATE)
    assert partition_of_row(CensusRecord) == partition_name("telemetry_censusrecord", DAY_DATE)
    assert partition_of_row(RecordReceipt, record_id=record["id"]) == partition_name(
        "telemetry_recordreceipt", DAY_DATE
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s ORDER BY 1",
            [f"telemetry_usagerecord_p{DAY_DATE:%Y%m%d}"],
        )
        names = [name for (name,) in cursor.fetchall()]
    suffix = f"_p{DAY_DATE:%Y%m%d}"
    assert names == sorted(
        [f"telemetry_usagerecord{suffix}_pkey"] + [f"{index.name}{suffix}" for index in UsageRecord._meta.indexes]
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_record_dated_30_days_ago_makes_its_day_s_partition_and_is_stored(contoso, contoso_pool, contoso_key):
    day = days_ago(30)
    drop_days(day)
    assert all(day not in partitions_of(table) for table in TABLES)

    record = usage(timestamp=at_noon(day))
    body = post_batch(Client(), contoso_key, [record]).json()

    assert body["results"] == [{"id": record["id"], "status": "accepted"}]
    assert partition_of_row(UsageRecord, record_id=record["id"]) == partition_name("telemetry_usagerecord", day)
    assert partition_of_row(RecordReceipt, record_id=record["id"]) == partition_name("telemetry_recordreceipt", day)
    # Only what the batch writes: no error report, and census rows are staged (the move makes theirs).
    assert day not in partitions_of("telemetry_errorreport")
    assert day not in partitions_of("telemetry_censusrecord")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_census_move_makes_the_partitions_of_the_staged_days(contoso):
    day = days_ago(20)
    drop_days(day)
    ingest_batch(tenant=contoso, records=[census(timestamp=at_noon(day))])
    assert day not in partitions_of("telemetry_censusrecord")

    assert stored_census().filter(day=day).count() == 1
    assert partition_of_row(CensusRecord) == partition_name("telemetry_censusrecord", day)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_record_older_than_every_retention_of_its_tenant_makes_no_partition(contoso, contoso_pool, contoso_key):
    day = days_ago(400)
    drop_days(day)
    record = usage(timestamp=at_noon(day))

    body = post_batch(Client(), contoso_key, [record]).json()

    assert body["results"] == [{"id": record["id"], "status": "dropped", "reason": "expired"}]
    assert all(day not in partitions_of(table) for table in TABLES)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_processes_making_the_same_day_both_go_on_and_make_it_once():
    day = days_ago(500)
    drop_days(day)
    start = threading.Barrier(2)
    made, failures = [], []

    def make():
        try:
            start.wait()
            partitions._known.clear()
            made.append(ensure_day_partitions({day}))
        except Exception as failure:
            failures.append(failure)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=make) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    assert len(made) == 2
    assert all(day in partitions_of(table) for table in TABLES)
    drop_days(day)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_process_that_lost_a_race_for_one_table_of_a_day_still_makes_the_others(monkeypatch):
    """Two batches of the same day write different tables (one has an error report, the other not):
    the one that loses the receipts' partition to the other must still make the error reports'."""
    day = days_ago(500)
    drop_days(day)
    receipts, errors = RecordReceipt._meta.db_table, ErrorReport._meta.db_table
    ensure_day_partitions({day}, tables=[receipts])  # the other process, first
    refresh = partitions._refresh
    looked = []

    def stale_first_look(tables):
        """This process's first look at pg_inherits came just before the other's commit."""
        found = refresh(tables)
        if not looked:
            looked.append(True)
            found[receipts] = found[receipts] - {day}
        return found

    monkeypatch.setattr(partitions, "_refresh", stale_first_look)
    partitions._known.clear()

    assert ensure_day_partitions({day}, tables=[receipts, errors]) == {day}
    assert day in partitions_of(receipts)
    assert day in partitions_of(errors)
    drop_days(day)


# --- PostgreSQL: the maintenance's partition upkeep ------------------------------------------------------


def run_maintenance() -> list[str]:
    out = io.StringIO()
    call_command("maintain_telemetry", stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_maintenance_prepares_the_coming_days():
    coming = [TODAY + dt.timedelta(days=offset) for offset in (6, 7)]
    drop_days(*coming)

    lines = run_maintenance()

    assert lines[0] == (
        "Day partitions: prepared 2 new days (usage records, error reports, census records, record receipts)."
    )
    for table in TABLES:
        found = partitions_of(table)
        assert all(TODAY + dt.timedelta(days=offset) in found for offset in range(-1, 8))
    assert run_maintenance()[0].startswith("Day partitions: prepared 0 new days")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_maintenance_drops_a_day_expired_for_everyone_and_deletes_rows_only_where_a_tenant_keeps_the_day(
    contoso_pool, fabrikam_pool
):
    contoso, fabrikam = contoso_pool.tenant, fabrikam_pool.tenant
    retain(contoso, usage_days=10, error_report_days=10)
    retain(fabrikam, usage_days=60, error_report_days=60)
    shared, gone = days_ago(30), days_ago(70)
    for pool in (contoso_pool, fabrikam_pool):
        usage_rows(pool, shared, 2)
        usage_rows(pool, gone, 3)

    lines = run_maintenance()

    assert gone not in partitions_of("telemetry_usagerecord")
    assert shared in partitions_of("telemetry_usagerecord")
    assert not UsageRecord.objects.filter(tenant=contoso).exists()
    assert list(UsageRecord.objects.filter(tenant=fabrikam).values_list("day", flat=True)) == [shared, shared]
    # 6 rows of the day gone with its partition, 2 of contoso deleted from the shared day.
    usage_line = next(line for line in lines if line.startswith("Usage records:"))
    assert usage_line.startswith("Usage records: deleted 8 expired rows of 2 tenants, dropping ")
    # Receipts of that day are kept: the longest retention (fabrikam's 60 days) and a day more.
    assert shared in partitions_of("telemetry_recordreceipt")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_interrupted_detach_is_finished_and_its_day_dropped(contoso_pool, monkeypatch):
    day = days_ago(90)
    usage_rows(contoso_pool, day, 2)
    name = partition_name("telemetry_usagerecord", day)
    with psycopg.connect(server_url()) as reader, psycopg.connect(server_url(), autocommit=True) as detacher:
        # A reader with an older snapshot makes DETACH ... CONCURRENTLY wait; its lock_timeout stops
        # it half-way, leaving the partition "detach pending".
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
        detacher.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            detacher.execute(f'ALTER TABLE telemetry_usagerecord DETACH PARTITION "{name}" CONCURRENTLY')
        reader.rollback()
    assert partitions_of("telemetry_usagerecord")[day].detach_pending

    purged = purge_expired(today=TODAY)

    assert day not in partitions_of("telemetry_usagerecord")
    assert purged["usage"].rows == 2
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [name])
        assert cursor.fetchone() == (None,)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_maintenance_gives_up_within_its_lock_timeout_and_says_it_will_retry(contoso_pool, monkeypatch):
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "1s")
    day = days_ago(90)
    usage_rows(contoso_pool, day, 2)
    name = partition_name("telemetry_usagerecord", day)
    holding, release = threading.Event(), threading.Event()

    def hold():
        # A long transaction that holds the parent table (and reads the expired day).
        with psycopg.connect(server_url()) as other:
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            other.execute("LOCK TABLE telemetry_usagerecord IN SHARE UPDATE EXCLUSIVE MODE")
            other.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
            holding.set()
            release.wait(30)
            other.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        started = time.monotonic()
        lines = run_maintenance()
        elapsed = time.monotonic() - started
    finally:
        release.set()
        holder.join(30)

    usage_line = next(line for line in lines if line.startswith("Usage records:"))
    assert f"({name})" in usage_line
    assert usage_line.endswith("could not be locked in time, the next run retries.")
    assert elapsed < 6
    assert UsageRecord.objects.filter(day=day).count() == 2  # nothing half-done
    # The next run, with the lock free, drops it.
    run_maintenance()
    assert day not in partitions_of("telemetry_usagerecord")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_commits_while_an_expired_day_is_being_detached(contoso, contoso_pool, contoso_key, monkeypatch):
    monkeypatch.setattr(partitions, "LOCK_TIMEOUT", "30s")
    day = days_ago(90)
    usage_rows(contoso_pool, day, 2)
    name = partition_name("telemetry_usagerecord", day)
    ensure_day_partitions({DAY_DATE})
    detached = threading.Event()

    def maintain():
        try:
            purge_expired(today=TODAY)
            detached.set()
        finally:
            connections.close_all()

    with psycopg.connect(server_url()) as reader:
        # An older snapshot that can still see the expired day: DETACH ... CONCURRENTLY waits for it.
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute(f'SELECT count(*) FROM "{name}"')  # noqa: S608
        maintenance = threading.Thread(target=maintain)
        maintenance.start()
        waiting = _wait_for_detach_pending(name)
        assert waiting, "the maintenance never started its detach"

        started = time.monotonic()
        body = post_batch(Client(), contoso_key, [usage(), usage()]).json()
        batch_seconds = time.monotonic() - started

        assert body["accepted"] == 2
        assert not detached.is_set()  # the detach still waits, the batch is stored
        reader.rollback()
    maintenance.join(60)
    assert detached.is_set()
    assert batch_seconds < 5
    assert UsageRecord.objects.filter(day=DAY_DATE).count() == 2
    assert day not in partitions_of("telemetry_usagerecord")


def _wait_for_detach_pending(name: str, seconds: float = 10) -> bool:
    """Whether the partition turns "detach pending" (the first step of DETACH ... CONCURRENTLY) in time."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(server_url(), autocommit=True) as observer:
        while time.monotonic() < deadline:
            row = observer.execute(
                "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = to_regclass(%s)", [name]
            ).fetchone()
            if row and row[0]:
                return True
            time.sleep(0.05)
    return False


@pytest.mark.postgres
def test_a_newest_first_page_is_a_merge_of_the_day_partitions_index_scans(contoso_pool):
    for offset in range(3):
        usage_rows(contoso_pool, DAY_DATE - dt.timedelta(days=offset))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
    plan = UsageRecord.objects.order_by("-timestamp", "-id")[:101].explain()
    assert "Merge Append" in plan
    assert f"Index Scan Backward using usage_time_p{DAY_DATE:%Y%m%d}" in plan
    assert "Sort  (" not in plan
    assert "Incremental Sort" not in plan
    # A date range reads only its days' partitions.
    ranged = UsageRecord.objects.filter(day=DAY_DATE).order_by("-timestamp", "-id")[:101].explain()
    assert f"telemetry_usagerecord_p{DAY_DATE:%Y%m%d}" in ranged
    assert f"telemetry_usagerecord_p{DAY_DATE - dt.timedelta(days=1):%Y%m%d}" not in ranged

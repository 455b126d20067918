"""The purge of expired records and receipts (lifecycle.md, "Retention", "Periodic maintenance") and
the maintain_telemetry command that runs it before the census move."""

import datetime as dt
import io
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, OperationalError, connection
from django.test.utils import CaptureQueriesContext

from telemetry import maintenance
from telemetry.maintenance import Purged, purge_expired
from telemetry.models import CensusRecord, ErrorReport, RecordReceipt, StagedCensusRecord, UsageRecord
from telemetry.partitions import ensure_day_partitions, is_partitioned
from telemetry.pseudonymize import hash_census_user_id
from telemetry.storage import COUNT_TABLES
from telemetry.vocabulary import Client, MessageDirection
from tenants import services
from tenants.management.base import DATABASE_FAILED, DATABASE_UNREACHABLE
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import post_batch
from tests.telemetry.factories import census, error, usage

TODAY = dt.datetime.now(dt.UTC).date()
CENSUS_DAYS = 30
NOTHING = {action: (0, 0) for action in maintenance.PURGE_ACTIONS}


def days_ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


def usage_on(pool, *days_back: int) -> None:
    UsageRecord.objects.bulk_create(
        UsageRecord(
            tenant_id=pool.tenant_id,
            pool=pool,
            record_id=uuid.uuid4(),
            day=days_ago(days),
            timestamp=noon(days_ago(days)),
            client=Client.DESKTOP,
        )
        for days in days_back
    )


def errors_on(pool, *days_back: int) -> None:
    ErrorReport.objects.bulk_create(
        ErrorReport(
            tenant_id=pool.tenant_id,
            pool=pool,
            record_id=uuid.uuid4(),
            day=days_ago(days),
            timestamp=noon(days_ago(days)),
            client=Client.DESKTOP,
            user_hash="0" * 64,
            message_direction=MessageDirection.INCOMING,
            conversation_state="idle",
            error_code="SIGNIN_TIMEOUT",
        )
        for days in days_back
    )


def census_on(*days_back: int, model=CensusRecord) -> None:
    model.objects.bulk_create(
        model(
            day=days_ago(days),
            timestamp=noon(days_ago(days)),
            client=Client.DESKTOP,
            app_name="iPhoneSkype",
            device_model="iPhone",
            os_name="iPhoneiOS",
            os_version="8.3",
            user_language="EN-US",
            user_hash=hash_census_user_id("E296D735-4F36-4E18-7C3B-52E1A02A0164"),
            device_id=uuid.uuid4(),
        )
        for days in days_back
    )


def receipts_on(tenant, *days_back: int) -> None:
    RecordReceipt.objects.bulk_create(
        RecordReceipt(tenant=tenant, record_id=uuid.uuid4(), day=days_ago(days)) for days in days_back
    )


def days_kept(queryset, **filters) -> list[int]:
    """The rows left, as days before today, newest first."""
    return sorted((TODAY - day).days for day in queryset.filter(**filters).values_list("day", flat=True))


def deleted(purged: dict[str, Purged]) -> dict[str, tuple[int, int]]:
    """Rows and tenants per action: what the purge deleted, whether by rows or by day partitions."""
    return {action: (result.rows, result.tenants) for action, result in purged.items()}


def without_partition_lines(lines: list[str]) -> list[str]:
    """The command's lines as on SQLite: the partition words of PostgreSQL taken out (they depend on the
    empty partitions other tests left behind; tests/telemetry/test_partitions.py checks them)."""
    return [
        re.sub(r", dropping \d+ day partitions?", "", line) for line in lines if not line.startswith("Day partitions:")
    ]


@pytest.fixture
def a_tenant_keeping_200_days(db):
    """A third tenant with a long retention: the days the others' rows expire on stay (partly) kept,
    so that on PostgreSQL too the purge deletes rows from a shared day instead of dropping the day."""
    tailspin = services.tenant_create(slug="tailspin", name="Tailspin", domain="tailspintoys.com", actor=COMMAND_ACTOR)
    retain(tailspin, usage_days=200, error_report_days=200)
    return tailspin


def retain(tenant, *, usage_days: int, error_report_days: int) -> None:
    for setting, days in ((services.USAGE_RETENTION, usage_days), (services.ERROR_REPORT_RETENTION, error_report_days)):
        services.tenant_setting_set(tenant=tenant, setting=setting, value=days, actor=COMMAND_ACTOR)


@pytest.fixture
def census_retention(settings):
    settings.TELEMETRY_CENSUS_RETENTION_DAYS = CENSUS_DAYS


def test_purge_deletes_exactly_the_expired_rows_of_each_tenant_by_its_own_retention(
    contoso_pool, fabrikam_pool, census_retention
):
    contoso, fabrikam = contoso_pool.tenant, fabrikam_pool.tenant
    retain(contoso, usage_days=10, error_report_days=20)
    retain(fabrikam, usage_days=60, error_report_days=5)
    usage_on(contoso_pool, 0, 10, 11, 200)
    errors_on(contoso_pool, 0, 20, 21)
    usage_on(fabrikam_pool, 11, 60, 61)
    errors_on(fabrikam_pool, 5, 6, 11)
    census_on(0, 30, 31)
    census_on(30, 31, 45, model=StagedCensusRecord)

    purged = purge_expired(today=TODAY)

    assert deleted(purged) == {
        "usage": (3, 2),
        "error_reports": (3, 2),
        "staged_census": (2, 0),
        "census": (1, 0),
        "receipts": (0, 0),
    }
    assert days_kept(UsageRecord.objects, tenant=contoso) == [0, 10]
    assert days_kept(ErrorReport.objects, tenant=contoso) == [0, 20]
    assert days_kept(UsageRecord.objects, tenant=fabrikam) == [11, 60]
    assert days_kept(ErrorReport.objects, tenant=fabrikam) == [5]
    assert days_kept(CensusRecord.objects) == [0, 30]
    assert days_kept(StagedCensusRecord.objects) == [30]


def test_receipts_are_kept_for_the_longest_retention_of_their_tenant(contoso, fabrikam, census_retention):
    retain(contoso, usage_days=10, error_report_days=40)  # longest: error reports, 40 days
    retain(fabrikam, usage_days=5, error_report_days=5)  # longest: census, 30 days
    for tenant in (contoso, fabrikam):
        receipts_on(tenant, 0, 30, 31, 32, 40, 41, 42)

    purged = purge_expired(today=TODAY)

    # A batch decided just before midnight may be stored just after: one day more.
    assert deleted(purged)["receipts"] == (5, 2)
    assert days_kept(RecordReceipt.objects, tenant=contoso) == [0, 30, 31, 32, 40, 41]
    assert days_kept(RecordReceipt.objects, tenant=fabrikam) == [0, 30, 31]


def test_purge_leaves_the_count_tables_and_deletes_nothing_more_when_run_again(
    client, contoso, contoso_pool, contoso_key, settings
):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    recent = f"{days_ago(5).isoformat()}T09:15:00Z"
    quoting = "sign-in of amosmarble from 203.0.113.7 timed out"  # scrubbed: counted in ScrubbedDailyCount
    batch = [census(timestamp=recent), usage(timestamp=recent), error(timestamp=recent, error_log=quoting)]
    assert post_batch(client, contoso_key, batch).json()["accepted"] == 3
    call_command("maintain_telemetry", stdout=io.StringIO())  # the census row leaves the staging table
    counts_before = count_tables()
    # Shortened after they were stored: the records are now expired.
    retain(contoso, usage_days=1, error_report_days=1)
    settings.TELEMETRY_CENSUS_RETENTION_DAYS = 1

    first = purge_expired(today=TODAY)
    second = purge_expired(today=TODAY)

    assert [deleted(first)[action] for action in ("usage", "error_reports", "census")] == [(1, 1), (1, 1), (1, 0)]
    assert deleted(second) == NOTHING
    assert (UsageRecord.objects.count(), ErrorReport.objects.count(), CensusRecord.objects.count()) == (0, 0, 0)
    assert count_tables() == counts_before
    assert all(counts_before.values())


def count_tables() -> dict[str, list]:
    return {table.model.__name__: sorted(table.model.objects.values_list()) for table in COUNT_TABLES}


def test_purge_deletes_in_bounded_chunks_and_reports_its_progress(
    contoso_pool, fabrikam_pool, a_tenant_keeping_200_days, monkeypatch
):
    monkeypatch.setattr(maintenance, "PURGE_CHUNK_ROWS", 3)
    usage_on(contoso_pool, *[100] * 7)
    usage_on(fabrikam_pool, 100, 100)
    calls = []

    with CaptureQueriesContext(connection) as queries:
        purged = purge_expired(today=TODAY, progress=lambda *call: calls.append(call))

    assert deleted(purged)["usage"] == (9, 2)
    table = UsageRecord._meta.db_table
    deletes = [q["sql"] for q in queries if table in q["sql"] and "DELETE" in q["sql"]]
    if is_partitioned():
        # From the day's partition alone, both tenants at once: 3 + 3 + 3, and one that finds none
        # (the other deletes are those of the empty partitions other tests may have left).
        assert len([sql for sql in deletes if f'"{table}_p{days_ago(100):%Y%m%d}"' in sql]) == 4
        assert all(f'"{table}_p' in sql for sql in deletes)  # never the whole table
    else:
        assert len(deletes) == 5  # contoso: 3 + 3 + 1, fabrikam: 2, tailspin: 0
    # Only the action that took more than one chunk reports, and its last call is done == total.
    assert calls == [("usage", 3, 9), ("usage", 6, 9), ("usage", 9, 9)]


def test_a_record_whose_receipt_was_pruned_can_only_come_back_expired(
    client, contoso, contoso_pool, contoso_key, census_retention
):
    """The receipt rule keeps a receipt as long as its record could be accepted again (contoso keeps
    everything 60 days, its longest retention, and receipts a day more): a record that arrived on its
    own day 62 days ago has lost its receipt, and sent again it is dropped as expired, never stored
    twice; one that arrived 60 days ago keeps its receipt, which it needs (without it, it would be
    stored again)."""
    pruned, kept = usage(), usage()
    post_batch(client, contoso_key, [pruned, kept])
    ensure_day_partitions({days_ago(62), days_ago(60)})  # the rows move to those days' partitions
    for record, days in ((pruned, 62), (kept, 60)):  # as if each had been dated `days` ago
        UsageRecord.objects.filter(record_id=record["id"]).update(day=days_ago(days), timestamp=noon(days_ago(days)))
        RecordReceipt.objects.filter(record_id=record["id"]).update(day=days_ago(days))
        record["timestamp"] = f"{days_ago(days).isoformat()}T12:00:00Z"

    purged = purge_expired(today=TODAY)

    assert (purged["usage"].rows, purged["receipts"].rows) == (1, 1)
    assert not RecordReceipt.objects.filter(record_id=pruned["id"]).exists()
    body = post_batch(client, contoso_key, [pruned, kept]).json()
    assert body["results"] == [
        {"id": pruned["id"], "status": "dropped", "reason": "expired"},
        {"id": kept["id"], "status": "duplicate"},
    ]
    assert UsageRecord.objects.filter(record_id=pruned["id"]).count() == 0
    assert UsageRecord.objects.filter(record_id=kept["id"]).count() == 1
    # The kept receipt is needed: a day later than the rule allows, the record is stored a second time.
    RecordReceipt.objects.filter(record_id=kept["id"]).delete()
    assert post_batch(client, contoso_key, [kept]).json()["accepted"] == 1
    assert UsageRecord.objects.filter(record_id=kept["id"]).count() == 2


# --- the command --------------------------------------------------------------------------------------


def run_maintenance(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("maintain_telemetry", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue().splitlines()


def test_maintain_telemetry_prints_one_line_per_action(contoso_pool, fabrikam_pool, census_retention):
    contoso = contoso_pool.tenant
    usage_on(contoso_pool, 61, 62)
    usage_on(fabrikam_pool, 61)
    errors_on(contoso_pool, 0, 61)
    census_on(31)
    census_on(0, 31, model=StagedCensusRecord)
    receipts_on(contoso, 62)

    first = run_maintenance()
    assert without_partition_lines(first) == [
        "Usage records: deleted 3 expired rows of 2 tenants.",
        "Error reports: deleted 1 expired row of 1 tenant.",
        "Staged census rows: deleted 1 expired row.",
        "Census records: deleted 1 expired row.",
        "Record receipts: deleted 1 row older than the longest retention, of 1 tenant.",
        "Census: moved 1 staged row into the census table.",
    ]
    assert run_maintenance() == [
        *(
            ["Day partitions: prepared 0 new days (usage records, error reports, census records, record receipts)."]
            if is_partitioned()
            else []
        ),
        "Usage records: deleted 0 expired rows of 0 tenants.",
        "Error reports: deleted 0 expired rows of 0 tenants.",
        "Staged census rows: deleted 0 expired rows.",
        "Census records: deleted 0 expired rows.",
        "Record receipts: deleted 0 rows older than the longest retention, of 0 tenants.",
        "Census: moved 0 staged rows into the census table.",
    ]


def test_maintain_telemetry_shows_progress_on_long_work(contoso_pool, a_tenant_keeping_200_days, monkeypatch):
    monkeypatch.setattr(maintenance, "PURGE_CHUNK_ROWS", 2)
    usage_on(contoso_pool, *[100] * 5)

    lines = without_partition_lines(run_maintenance())

    assert lines[:4] == [
        "Usage records: deleting expired rows: 2/5",
        "Usage records: deleting expired rows: 4/5",
        "Usage records: deleting expired rows: 5/5",
        "Usage records: deleted 5 expired rows of 1 tenant.",
    ]


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            OperationalError("could not connect to server at 10.0.0.5"),
            DATABASE_UNREACHABLE.format(error="OperationalError"),
        ),
        (DatabaseError("canceling statement due to lock timeout"), DATABASE_FAILED.format(error="DatabaseError")),
    ],
)
def test_maintain_telemetry_fails_in_one_line(db, monkeypatch, error, line):
    def fail(**kwargs):
        raise error

    monkeypatch.setattr("telemetry.management.commands.maintain_telemetry.purge_expired", fail)

    with pytest.raises(CommandError) as failure:
        run_maintenance()

    assert str(failure.value) == line


def test_maintain_telemetry_from_a_shell_exits_non_zero_with_one_line(tmp_path):
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'portal.sqlite3'}",  # its directory does not exist
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "shell-test-secret-key",
        "TELEMETRY_HASH_KEY": "shell-test-hash-key",
        "DJANGO_SECURE_SSL": "false",
    }
    result = subprocess.run(
        [sys.executable, str(Path(django_settings.BASE_DIR) / "manage.py"), "maintain_telemetry"],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"CommandError: {DATABASE_UNREACHABLE.format(error='OperationalError')}\n"

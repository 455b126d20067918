"""On PostgreSQL: a batch and a policy change serialize; census rows cannot be tied to a tenant by the
database's own bookkeeping; a pg_dump of a database fed free text that quotes identifiers holds none."""

import subprocess
import threading
import time

import pytest
from django.db import connection, connections

from telemetry import services as telemetry_services
from telemetry.maintenance import census_move_staged
from telemetry.models import (
    CensusRecord,
    ErrorReport,
    IngestionCount,
    RecordReceipt,
    StagedCensusRecord,
    UsageRecord,
)
from telemetry.services import ingest_batch
from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.factories import census, error, usage
from tests.telemetry.test_privacy_lifecycle import QUOTING_LOG, SECRETS, USER_ID, quoting_report

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_batch_in_flight_is_stored_under_the_policy_in_force_when_it_commits(contoso, contoso_pool, monkeypatch):
    """The admin's switch waits for the batch in flight (decided under "on", committed before the switch),
    and the batch after the switch is decided under "off": never a usage record stored after "off" committed."""
    facts_read, release = threading.Event(), threading.Event()
    gather = telemetry_services._gather_facts

    def slow_gather(**kwargs):
        facts = gather(**kwargs)
        if threading.current_thread().name == "batch":
            facts_read.set()
            assert release.wait(10)
        return facts

    monkeypatch.setattr(telemetry_services, "_gather_facts", slow_gather)
    results, switched_at = {}, {}

    def send():
        try:
            results["batch"] = ingest_batch(tenant=contoso, records=[usage()])
            results["batch_done"] = time.monotonic()
        finally:
            connections.close_all()

    def switch_off():
        try:
            services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
            switched_at["done"] = time.monotonic()
        finally:
            connections.close_all()

    batch = threading.Thread(target=send, name="batch")
    batch.start()
    assert facts_read.wait(10)
    switch = threading.Thread(target=switch_off, name="switch")
    switch.start()
    switch.join(0.5)
    assert switch.is_alive(), "the switch committed while a batch decided under the old policy was in flight"
    release.set()
    batch.join(10)
    switch.join(10)

    assert results["batch"].accepted == 1
    assert results["batch_done"] <= switched_at["done"]
    after = ingest_batch(tenant=contoso, records=[usage()])
    assert after.dropped == 1


def test_after_the_move_no_census_row_shares_a_transaction_with_a_tenants_receipts(contoso, contoso_pool, fabrikam):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    ingest_batch(tenant=contoso, records=[census() for _ in range(20)] + [usage(), error()])
    ingest_batch(tenant=fabrikam, records=[census() for _ in range(20)])
    staged_ids = set(StagedCensusRecord.objects.values_list("id", flat=True))

    def shared_transactions(table: str) -> int:
        # The tenants' rows: their receipts (written in a savepoint of the batch's transaction, so
        # under a subtransaction's id) and their records (under the batch's own).
        tenant_rows = " UNION ALL ".join(
            f"SELECT xmin::text AS xid FROM {model._meta.db_table}"  # noqa: S608
            for model in (RecordReceipt, UsageRecord, ErrorReport)
        )
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} c JOIN ({tenant_rows}) t ON c.xmin::text = t.xid")  # noqa: S608
            return cursor.fetchone()[0]

    # Staged, they share the batch's transaction (the check can fail) ...
    assert shared_transactions(StagedCensusRecord._meta.db_table) > 0
    assert census_move_staged() == 40
    # ... moved, they share none, carry new ids, and the two tenants' rows are one indistinct set.
    assert shared_transactions(CensusRecord._meta.db_table) == 0
    assert not StagedCensusRecord.objects.exists()
    moved_ids = set(CensusRecord.objects.values_list("id", flat=True))
    assert len(moved_ids) == 40
    assert not moved_ids & staged_ids
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(DISTINCT xmin::text) FROM {CensusRecord._meta.db_table}")  # noqa: S608
        assert cursor.fetchone()[0] == 1
    assert census_move_staged() == 0  # idempotent
    assert IngestionCount.objects.filter(category="census").count() == 2  # counted when they arrived


def test_a_pg_dump_holds_no_identifier_quoted_in_free_text(contoso, contoso_pool, caplog):
    services.end_user_set_error_reporting(tenant=contoso, user_id=USER_ID, opted_in=True)
    result = ingest_batch(tenant=contoso, records=[quoting_report(), quoting_report(client="mobile")])
    assert result.accepted == 2
    census_move_staged()
    database = connection.settings_dict

    dump = subprocess.run(
        [
            "pg_dump",
            "--data-only",
            "-h",
            database["HOST"] or "127.0.0.1",
            "-p",
            str(database["PORT"] or 5432),
            "-U",
            database["USER"] or "postgres",
            database["NAME"],
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout

    assert "[user:" in dump  # the reports are in the dump, scrubbed
    assert QUOTING_LOG not in dump
    lowered = dump.casefold()
    for secret in SECRETS:
        assert secret.casefold() not in lowered, secret
    for record in caplog.records:
        for secret in SECRETS:
            assert secret.casefold() not in record.getMessage().casefold()

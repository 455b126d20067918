"""PostgreSQL ingestion: COPY, the receipt claim under concurrent identical batches, real database errors."""

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections, transaction
from django.test import Client

from telemetry import storage
from telemetry.models import ErrorReport, IngestionCount, RecordReceipt, UsageDailySum, UsageRecord
from telemetry.services import ingest_batch
from tenants import services
from tests.telemetry.client_api import assert_problem, ledger_rows, post_batch, stored_census
from tests.telemetry.factories import DAY, census, error, usage

pytestmark = pytest.mark.postgres

THREADS = 6


def send_at_once(key: str, batches: list[list[dict]]) -> list[dict]:
    """Each batch posted by a thread of its own, all released together; their answers, in order."""
    start = threading.Barrier(len(batches))

    def send(batch):
        try:
            start.wait()
            return post_batch(Client(), key, batch).json()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(batches)) as pool:
        return list(pool.map(send, batches))


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_sent_concurrently_is_stored_exactly_once(contoso, contoso_pool, contoso_key):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    batch = [census() for _ in range(50)] + [usage() for _ in range(50)] + [error() for _ in range(50)]

    answers = send_at_once(contoso_key, [batch] * THREADS)

    assert sum(answer["accepted"] for answer in answers) == 150
    assert sum(answer["duplicates"] for answer in answers) == 150 * (THREADS - 1)
    assert (stored_census().count(), UsageRecord.objects.count(), ErrorReport.objects.count()) == (50, 50, 50)
    assert RecordReceipt.objects.filter(tenant=contoso).count() == 150
    rows = ledger_rows(contoso)
    for category in ("census", "usage", "error"):
        assert rows[(DAY, category, "desktop", "accepted", "")] == 50
        assert rows[(DAY, category, "desktop", "duplicate", "")] == 50 * (THREADS - 1)
    assert UsageDailySum.objects.get(tenant=contoso).records == 50


@pytest.mark.django_db(transaction=True)
def test_batches_sharing_some_records_sent_concurrently_store_each_record_once(contoso, contoso_pool, contoso_key):
    # Each batch's receipts are COPYed first; a batch that meets a key another one holds waits for it,
    # fails its COPY at its commit, and claims again skipping the taken keys.
    shared = [usage() for _ in range(30)]
    batches = [[*shared, *(usage() for _ in range(20))] for _ in range(THREADS)]
    for seed, batch in enumerate(batches):
        random.Random(seed).shuffle(batch)  # the keys in another order in each batch

    answers = send_at_once(contoso_key, batches)

    assert sum(answer["accepted"] for answer in answers) == 30 + 20 * THREADS
    assert sum(answer["duplicates"] for answer in answers) == 30 * (THREADS - 1)
    assert UsageRecord.objects.count() == RecordReceipt.objects.count() == 30 + 20 * THREADS


@pytest.mark.django_db
def test_only_a_batch_holding_taken_ids_claims_them_one_by_one(client, monkeypatch, contoso, contoso_pool, contoso_key):
    slow_claims = []
    original = storage.PostgresStorage._claim_skipping_taken

    def spy(self, **kwargs):
        slow_claims.append(len(kwargs["ordered"]))
        return original(self, **kwargs)

    monkeypatch.setattr(storage.PostgresStorage, "_claim_skipping_taken", spy)
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    sent = [usage(), error(), census()]

    first = post_batch(client, contoso_key, sent).json()
    assert (first["accepted"], slow_claims) == (3, [])
    again = post_batch(client, contoso_key, [*sent, usage()]).json()

    assert (again["accepted"], again["duplicates"], slow_claims) == (1, 3, [4])
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "duplicate", "accepted"]
    assert RecordReceipt.objects.filter(tenant=contoso).count() == 4
    assert (UsageRecord.objects.count(), ErrorReport.objects.count(), stored_census().count()) == (2, 1, 1)


@pytest.mark.django_db
def test_a_database_error_inside_copy_answers_503_and_keeps_nothing(
    client, monkeypatch, contoso, contoso_pool, contoso_key
):
    original = storage.copy_rows

    def corrupt(cursor, table, columns, rows, **kwargs):
        if table == UsageRecord._meta.db_table:
            # ims_sent below zero: the server's check constraint fails the COPY, a real IntegrityError.
            rows = [(*row[:6], -1, *row[7:]) for row in rows]
        original(cursor, table, columns, rows, **kwargs)

    monkeypatch.setattr(storage, "copy_rows", corrupt)

    response = post_batch(client, contoso_key, [census(), usage()])

    assert_problem(response, 503)
    assert not RecordReceipt.objects.exists()
    assert not stored_census().exists()
    assert not IngestionCount.objects.exists()
    # The connection is usable again for the next request.
    monkeypatch.setattr(storage, "copy_rows", original)
    assert post_batch(client, contoso_key, [census(), usage()]).json()["accepted"] == 2


@pytest.mark.django_db
def test_two_batches_in_one_transaction_claim_each_their_own_receipts(contoso, contoso_pool, fabrikam, fabrikam_pool):
    shared = census()
    with transaction.atomic():
        ingest_batch(tenant=contoso, records=[shared])
        result = ingest_batch(tenant=fabrikam, records=[shared, census()])

    assert [r.status for r in result.results] == ["accepted", "accepted"]
    assert RecordReceipt.objects.filter(tenant=fabrikam).count() == 2
    assert connection.vendor == "postgresql"

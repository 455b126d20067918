"""A large tenant moved to a shard of its own (`isolate_tenant_to_new_shard`) while its batches and
another tenant's keep arriving: nothing lost, nothing stored twice, every count equal to the rows
stored, retries recognized as duplicates across the move."""

import threading
import time

import psycopg
import pytest
from django.db import connection, connections
from django.test import Client

from telemetry.models import IngestionCount, RecordReceipt, UsageRecord
from tests.telemetry.client_api import post_batch
from tests.telemetry.factories import usage

BATCH = 40


def isolate(tenant_id: int) -> int:
    """Move the tenant's rows of every co-located table to new shards of their own; the new shard's id.
    With 'block_writes' the writes to the tenant's old shards wait while they are copied; a batch still
    waiting at the switch is refused (503) and stored on the client's retry. The other tenants' shards
    are not touched."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"], user=settings["USER"], dbname=settings["NAME"], autocommit=True
    ) as conn:
        return conn.execute(
            "SELECT isolate_tenant_to_new_shard('telemetry_usagerecord', %s, 'CASCADE', "
            "shard_transfer_mode => 'block_writes')",
            [tenant_id],
        ).fetchone()[0]


class Sender(threading.Thread):
    """A client that posts new batches, and every third time the previous batch again (a retry), until
    told to stop; a batch answered with anything but 200 is sent again, as clients do."""

    def __init__(self, key: str, pool: str, stop: threading.Event):
        super().__init__()
        self.key, self.pool, self.stop = key, pool, stop
        self.sent_ids: set[str] = set()
        self.accepted = self.duplicates = self.resent = 0
        self.failure: BaseException | None = None

    def post(self, client: Client, batch: list[dict]) -> dict:
        for _ in range(50):
            response = post_batch(client, self.key, batch)
            if response.status_code == 200:
                return response.json()
            time.sleep(0.2)
        raise AssertionError(f"a batch was refused 50 times: {response.status_code} {response.content[:200]}")

    def run(self):
        client = Client()
        previous = None
        try:
            for n in range(10_000):
                if self.stop.is_set() and n >= 4:
                    break
                if previous is not None and n % 3 == 0:
                    answer = self.post(client, previous)
                    self.resent += len(previous)
                else:
                    previous = [usage(pool=self.pool) for _ in range(BATCH)]
                    self.sent_ids.update(record["id"] for record in previous)
                    answer = self.post(client, previous)
                self.accepted += answer["accepted"]
                self.duplicates += answer["duplicates"]
        except BaseException as error:  # reported by the test
            self.failure = error
        finally:
            connections.close_all()


def stored_ids(tenant) -> set[str]:
    return {str(value) for value in UsageRecord.objects.filter(tenant=tenant).values_list("record_id", flat=True)}


def ledger(tenant, outcome: str) -> int:
    return sum(IngestionCount.objects.filter(tenant=tenant, outcome=outcome).values_list("records", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_tenant_moved_to_its_own_shard_mid_ingestion_loses_and_duplicates_nothing(
    contoso, contoso_pool, contoso_key, fabrikam, fabrikam_pool, fabrikam_key
):
    stop = threading.Event()
    senders = {
        contoso: Sender(contoso_key, contoso_pool.fqdn, stop),
        fabrikam: Sender(fabrikam_key, fabrikam_pool.fqdn, stop),
    }
    with connection.cursor() as cursor:
        cursor.execute("SELECT get_shard_id_for_distribution_column('telemetry_usagerecord', %s)", [contoso.pk])
        (shard_before,) = cursor.fetchone()
    for sender in senders.values():
        sender.start()
    try:
        while senders[contoso].accepted < 2 * BATCH:  # the move starts mid-ingestion
            assert senders[contoso].is_alive(), senders[contoso].failure
            time.sleep(0.1)
        new_shard = isolate(contoso.pk)
    finally:
        # Never leave a sender posting into the tables the test's teardown empties.
        stop.set()
        for sender in senders.values():
            sender.join(timeout=300)
    for sender in senders.values():
        assert sender.failure is None, sender.failure

    with connection.cursor() as cursor:
        cursor.execute("SELECT get_shard_id_for_distribution_column('telemetry_usagerecord', %s)", [contoso.pk])
        assert cursor.fetchone()[0] == new_shard != shard_before
        cursor.execute("SELECT shardminvalue = shardmaxvalue FROM pg_dist_shard WHERE shardid = %s", [new_shard])
        assert cursor.fetchone()[0]  # the shard holds one tenant's hash alone
    for tenant, sender in senders.items():
        assert sender.resent > 0
        assert stored_ids(tenant) == sender.sent_ids  # nothing lost
        assert UsageRecord.objects.filter(tenant=tenant).count() == len(sender.sent_ids)  # nothing twice
        assert sender.accepted == len(sender.sent_ids)
        assert sender.duplicates == sender.resent
        assert RecordReceipt.objects.filter(tenant=tenant).count() == len(sender.sent_ids)
        assert ledger(tenant, "accepted") == len(sender.sent_ids)
        assert ledger(tenant, "duplicate") == sender.resent

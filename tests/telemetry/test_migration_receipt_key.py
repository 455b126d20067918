"""Migration telemetry/0010 makes a receipt's primary key the idempotency key, (tenant_id, day,
record_id), and drops its surrogate `id`, on a database that already holds receipts (in day partitions
on PostgreSQL): every receipt stays, the key still refuses a second receipt for the same record, and
the way back brings `id` and the old unique constraint back."""

import datetime as dt
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tenants.models import Tenant  # its table is at the latest migration throughout

BEFORE = [("telemetry", "0009_primary_keys_with_tenant")]
AFTER = [("telemetry", "0010_receipt_key_is_the_idempotency_key")]
TABLE = "telemetry_recordreceipt"


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def columns() -> list[str]:
    with connection.cursor() as cursor:
        return [column.name for column in connection.introspection.get_table_description(cursor, TABLE)]


def keys() -> set[str]:
    """The definitions of the receipts' primary and unique keys, the day partitions' included."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT pg_get_constraintdef(k.oid) FROM pg_constraint k WHERE k.contype IN ('p', 'u') "
                "AND (k.conrelid = %s::regclass OR k.conrelid IN "
                "(SELECT inhrelid FROM pg_inherits WHERE inhparent = %s::regclass))",
                [TABLE, TABLE],
            )
            return {definition for (definition,) in cursor.fetchall()}
        cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", [TABLE])
        (sql,) = cursor.fetchone()
        return {sql[sql.index("PRIMARY KEY") :] if "PRIMARY KEY (" in sql else sql}


@pytest.mark.django_db(transaction=True)
def test_the_receipt_key_becomes_the_idempotency_key_and_every_receipt_stays():
    old = migrate(BEFORE)
    contoso = Tenant.objects.create(slug="contoso", name="Contoso", domain="contoso.com")
    fabrikam = Tenant.objects.create(slug="fabrikam", name="Fabrikam", domain="fabrikam.com")
    today = dt.datetime.now(dt.UTC).date()
    days = [today, today - dt.timedelta(days=1)]  # partitions 0007 made
    shared = uuid.uuid4()  # both tenants sent a record with this id: two receipts
    stored = {(tenant.pk, day, shared) for tenant in (contoso, fabrikam) for day in days}
    stored |= {(contoso.pk, today, uuid.uuid4()) for _ in range(3)}
    OldReceipt = old.get_model("telemetry", "RecordReceipt")
    for tenant_id, day, record_id in stored:
        OldReceipt.objects.create(tenant_id=tenant_id, day=day, record_id=record_id)
    try:
        new = migrate(AFTER)
        assert "id" not in columns()
        if connection.vendor == "postgresql":
            assert keys() == {"PRIMARY KEY (tenant_id, day, record_id)"}
        else:
            assert keys() == {'PRIMARY KEY ("tenant_id", "day", "record_id"))'}
        Receipt = new.get_model("telemetry", "RecordReceipt")
        assert set(Receipt.objects.values_list("tenant_id", "day", "record_id")) == stored
        assert Receipt.objects.get(pk=(fabrikam.pk, today, shared)).tenant_id == fabrikam.pk
        with pytest.raises(IntegrityError), transaction.atomic():
            Receipt.objects.create(tenant_id=contoso.pk, day=today, record_id=shared)
        Receipt.objects.create(tenant_id=contoso.pk, day=today + dt.timedelta(days=1), record_id=shared)

        old = migrate(BEFORE)
        assert "id" in columns()
        if connection.vendor == "postgresql":
            assert keys() == {"PRIMARY KEY (id, day, tenant_id)", "UNIQUE (tenant_id, day, record_id)"}
        OldReceipt = old.get_model("telemetry", "RecordReceipt")
        assert OldReceipt.objects.count() == len(stored) + 1
        assert len(set(OldReceipt.objects.values_list("id", flat=True))) == len(stored) + 1
        with pytest.raises(IntegrityError), transaction.atomic():
            OldReceipt.objects.create(tenant_id=contoso.pk, day=today, record_id=shared)
        OldReceipt.objects.create(tenant_id=fabrikam.pk, day=today + dt.timedelta(days=1), record_id=shared)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

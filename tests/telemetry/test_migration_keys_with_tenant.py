"""Migrations telemetry/0009 and tenants/0010 put the tenant in the primary keys of the tables a tenant
owns (Citus distributes by it) on PostgreSQL, on a database that already holds rows in day partitions:
every row stays, the keys hold the tenant, the way back restores them. SQLite's tables keep `id`."""

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("telemetry", "0008_field_and_model_names"), ("tenants", "0009_field_and_model_names")]
AFTER = [("telemetry", "0009_primary_keys_with_tenant"), ("tenants", "0010_end_user_primary_key_with_tenant")]
TABLES = ("telemetry_usagerecord", "telemetry_recordreceipt", "telemetry_ingestioncount", "tenants_enduser")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def primary_keys() -> dict[str, str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'p' AND conrelid = ANY(%s::regclass[])",
                [list(TABLES)],
            )
            return dict(cursor.fetchall())
        keys = {}
        for table in TABLES:
            columns = [row[1] for row in cursor.execute(f'PRAGMA table_info("{table}")') if row[5]]
            keys[table] = f"PRIMARY KEY ({', '.join(columns)})"
        return keys


def partition_keys() -> set[str]:
    """The primary keys of the usage table's day partitions (PostgreSQL)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT pg_get_constraintdef(k.oid) FROM pg_inherits i JOIN pg_constraint k "
            "ON k.conrelid = i.inhrelid AND k.contype = 'p' WHERE i.inhparent = 'telemetry_usagerecord'::regclass"
        )
        return {definition for (definition,) in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_keys_hold_the_tenant_on_postgresql_and_every_stored_row_stays():
    old = migrate(BEFORE)
    Tenant, Pool, EndUser = (old.get_model("tenants", name) for name in ("Tenant", "Pool", "EndUser"))
    UsageRecord, RecordReceipt, IngestionCount = (
        old.get_model("telemetry", name) for name in ("UsageRecord", "RecordReceipt", "IngestionCount")
    )
    contoso = Tenant.objects.create(slug="contoso", name="Contoso", domain="contoso.com")
    fabrikam = Tenant.objects.create(slug="fabrikam", name="Fabrikam", domain="fabrikam.com")
    today = dt.datetime.now(dt.UTC).date()
    days = [today, today - dt.timedelta(days=1)]  # partitions 0007 made
    stored = []
    for tenant in (contoso, fabrikam):
        pool = Pool.objects.create(tenant=tenant, fqdn=f"pool01.{tenant.domain}")
        EndUser.objects.create(tenant=tenant, user_hash="a" * 64)
        for day in days:
            record_id = uuid.uuid4()
            moment = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
            stored.append(
                UsageRecord.objects.create(
                    tenant=tenant, pool=pool, record_id=record_id, day=day, timestamp=moment, client="desktop"
                ).pk
            )
            RecordReceipt.objects.create(tenant=tenant, record_id=record_id, day=day)
            IngestionCount.objects.create(
                tenant=tenant, day=day, category="usage", client="desktop", outcome="stored", records=1
            )
    try:
        new = migrate(AFTER)
        keys = primary_keys()
        if connection.vendor == "postgresql":
            assert keys == {
                "telemetry_usagerecord": "PRIMARY KEY (id, day, tenant_id)",
                "telemetry_recordreceipt": "PRIMARY KEY (id, day, tenant_id)",
                "telemetry_ingestioncount": "PRIMARY KEY (id, tenant_id)",
                "tenants_enduser": "PRIMARY KEY (id, tenant_id)",
            }
            assert partition_keys() == {"PRIMARY KEY (id, day, tenant_id)"}
        else:
            assert set(keys.values()) == {"PRIMARY KEY (id)"}
        UsageRecord = new.get_model("telemetry", "UsageRecord")
        assert sorted(UsageRecord.objects.values_list("pk", flat=True)) == sorted(stored)
        assert new.get_model("telemetry", "RecordReceipt").objects.count() == 4
        assert new.get_model("telemetry", "IngestionCount").objects.count() == 4
        assert new.get_model("tenants", "EndUser").objects.filter(tenant_id=fabrikam.pk).count() == 1
        # `id` still finds one row, through the key's index.
        assert UsageRecord.objects.get(pk=stored[0]).tenant_id == contoso.pk

        migrate(BEFORE)
        if connection.vendor == "postgresql":
            assert primary_keys()["telemetry_usagerecord"] == "PRIMARY KEY (id, day)"
            assert primary_keys()["tenants_enduser"] == "PRIMARY KEY (id)"
            assert partition_keys() == {"PRIMARY KEY (id, day)"}
        assert old.get_model("telemetry", "UsageRecord").objects.count() == len(stored)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

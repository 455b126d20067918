"""Primary keys that hold the tenant (issue 12, "the portal on Citus"), on PostgreSQL only.

Citus distributes a tenant's rows by `tenant_id` and enforces a primary or unique key only when it
holds that column, so the primary key of every table a tenant owns becomes (id, tenant_id), and (id,
day, tenant_id) where the table is partitioned by day. `id` comes first: a look-up by `id` (the
admin's change pages, the purge's deletes) still reads the key's index, and `id` stays unique on its
own, drawn from its identity sequence. Django's model state is unchanged (the primary key is `id`),
as in migration 0007; SQLite keeps its tables as they are. The unique keys of these tables already
start with the tenant. Census rows name no tenant: their key (id, day) is distributed by `id`.

On a partitioned table, dropping and adding the parent's key does the same on every day partition,
which rebuilds each partition's key index from its rows, in the migration's transaction; no row moves.
Self-contained (no import of the app's code), as a migration must stay what it was.
"""

from django.db import migrations

# table: (the old primary key, the new one)
TENANT_OWNED = {
    "telemetry_usagerecord": (("id", "day"), ("id", "day", "tenant_id")),
    "telemetry_errorreport": (("id", "day"), ("id", "day", "tenant_id")),
    "telemetry_recordreceipt": (("id", "day"), ("id", "day", "tenant_id")),
    "telemetry_ingestioncount": (("id",), ("id", "tenant_id")),
    "telemetry_usagedailysum": (("id",), ("id", "tenant_id")),
    "telemetry_federationpartnerdailycount": (("id",), ("id", "tenant_id")),
    "telemetry_scrubbeddailycount": (("id",), ("id", "tenant_id")),
    "telemetry_errorcodedailycount": (("id",), ("id", "tenant_id")),
}


def replace_primary_key(schema_editor, table: str, columns: tuple[str, ...]) -> None:
    """Drop `table`'s primary key (whatever its name) and make `columns` its primary key."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [table],
        )
        found = cursor.fetchone()
        drop = f'DROP CONSTRAINT "{found[0]}", ' if found else ""
        cursor.execute(f'ALTER TABLE "{table}" {drop}ADD CONSTRAINT "{table}_pkey" PRIMARY KEY ({", ".join(columns)})')


def keys_with_tenant(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (_, new) in TENANT_OWNED.items():
        replace_primary_key(schema_editor, table, new)


def keys_without_tenant(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, (old, _) in TENANT_OWNED.items():
        replace_primary_key(schema_editor, table, old)


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0008_field_and_model_names"),
    ]

    operations = [
        migrations.RunPython(keys_with_tenant, keys_without_tenant, elidable=False),
    ]

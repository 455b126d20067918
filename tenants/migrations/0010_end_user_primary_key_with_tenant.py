"""The end users' primary key holds the tenant (issue 12, "the portal on Citus"), on PostgreSQL only.

Citus distributes end users by `tenant_id`, beside the tenant's records, and enforces a primary key
only when it holds that column: (id, tenant_id), `id` first so that a look-up by `id` still reads the
key's index. Django's model state is unchanged (the primary key is `id`); SQLite keeps its table as it
is. The unique key (tenant, user_hash) already holds the tenant. Self-contained (no import of the
app's code), as a migration must stay what it was.
"""

from django.db import migrations

TABLE = "tenants_enduser"


def replace_primary_key(schema_editor, columns: tuple[str, ...]) -> None:
    """Drop the table's primary key (whatever its name) and make `columns` its primary key."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [TABLE])
        found = cursor.fetchone()
        drop = f'DROP CONSTRAINT "{found[0]}", ' if found else ""
        cursor.execute(f'ALTER TABLE "{TABLE}" {drop}ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY ({", ".join(columns)})')


def key_with_tenant(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        replace_primary_key(schema_editor, ("id", "tenant_id"))


def key_without_tenant(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        replace_primary_key(schema_editor, ("id",))


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_field_and_model_names"),
    ]

    operations = [
        migrations.RunPython(key_with_tenant, key_without_tenant, elidable=False),
    ]

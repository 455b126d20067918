"""A receipt's primary key is the idempotency key itself, (tenant_id, day, record_id); no surrogate id
(issue 8: each receipt cost a sequence value and a second index entry, at every batch).

Django's migrations do not turn a single-column primary key into a composite one, so the state change
(the unique constraint and `id` go, the composite key comes) and the database's are made apart:

- PostgreSQL (Citus too: the key holds the distribution column): the old key and the unique
  constraint are dropped and the new key is built in their place, on every day partition, in the
  migration's transaction; then the `id` column and its identity go. Receipts are bounded by the
  longest retention, so the build is bounded too.
- SQLite: the table is made again with the new key and its rows copied (SQLite cannot change a
  table's key in place).

Backwards, `id` comes back numbered anew (by a sequence on PostgreSQL, which adds no identity column
to a partitioned table before version 17), with the old key and the unique constraint.
Self-contained (no import of the app's code), as a migration must stay what it was.
"""

from django.db import migrations, models

TABLE = "telemetry_recordreceipt"
UNIQUE = "receipt_unique_per_tenant_day"
KEY = ("tenant_id", "day", "record_id")


def _primary_key_name(cursor) -> str | None:
    cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [TABLE])
    found = cursor.fetchone()
    return found[0] if found else None


def _sqlite_remake(cursor, *, with_id: bool) -> None:
    if with_id:
        columns = '"id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, '
        key = f'CONSTRAINT "{UNIQUE}" UNIQUE ("tenant_id", "day", "record_id")'
    else:
        columns = ""
        key = 'PRIMARY KEY ("tenant_id", "day", "record_id")'
    cursor.execute(
        f'CREATE TABLE "new__{TABLE}" ({columns}"record_id" char(32) NOT NULL, "day" date NOT NULL, '
        f'"tenant_id" bigint NOT NULL, {key})'
    )
    cursor.execute(
        f'INSERT INTO "new__{TABLE}" (record_id, day, tenant_id) '  # noqa: S608 - constant names
        f'SELECT record_id, day, tenant_id FROM "{TABLE}" ORDER BY tenant_id, day, record_id'
    )
    cursor.execute(f'DROP TABLE "{TABLE}"')
    cursor.execute(f'ALTER TABLE "new__{TABLE}" RENAME TO "{TABLE}"')


def key_is_the_idempotency_key(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            old = _primary_key_name(cursor)
            drop = f'DROP CONSTRAINT "{old}", ' if old else ""
            cursor.execute(
                f'ALTER TABLE "{TABLE}" {drop}DROP CONSTRAINT "{UNIQUE}", '
                f'ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY ({", ".join(KEY)})'
            )
            cursor.execute(f'ALTER TABLE "{TABLE}" DROP COLUMN "id"')
        else:
            _sqlite_remake(cursor, with_id=False)


def surrogate_id_again(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            # PostgreSQL before 17 adds no identity column to a partitioned table: a sequence numbers
            # the rows instead, as a serial column would.
            cursor.execute(f'CREATE SEQUENCE "{TABLE}_id_seq" AS bigint')
            cursor.execute(f"ALTER TABLE \"{TABLE}\" ADD COLUMN \"id\" bigint NOT NULL DEFAULT nextval('{TABLE}_id_seq')")
            cursor.execute(f'ALTER SEQUENCE "{TABLE}_id_seq" OWNED BY "{TABLE}"."id"')
            cursor.execute(
                f'ALTER TABLE "{TABLE}" DROP CONSTRAINT "{TABLE}_pkey", '
                f'ADD CONSTRAINT "{TABLE}_pkey" PRIMARY KEY ("id", "day", "tenant_id"), '
                f'ADD CONSTRAINT "{UNIQUE}" UNIQUE ({", ".join(KEY)})'
            )
        else:
            _sqlite_remake(cursor, with_id=True)


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0009_primary_keys_with_tenant"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(key_is_the_idempotency_key, surrogate_id_again, elidable=False),
            ],
            state_operations=[
                migrations.RemoveConstraint(model_name="recordreceipt", name=UNIQUE),
                migrations.RemoveField(model_name="recordreceipt", name="id"),
                migrations.AddField(
                    model_name="recordreceipt",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "tenant_id", "day", "record_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
        ),
    ]

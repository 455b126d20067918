"""Day partitions, receipts keyed by the record's day, an index diet, no foreign-key checks on the hot
tables (issue 8; telemetry/partitions.py, telemetry/models.py).

First the schema changes of both databases. The new indexes and the receipts' new unique key are
built at once on SQLite and, on PostgreSQL, by convert_to_day_partitions on the partitioned tables
(built on the old tables, they would be thrown away a moment later). Then, on PostgreSQL only, each of
the four tables becomes a table partitioned by day: renamed `<table>_unpartitioned`, a partitioned
table made like it with the primary key (id, day), the indexes and constraints of the model, a
partition for every day it holds and for the coming days, its rows copied, the old table dropped.
Self-contained (no import of the app's code), as a migration must stay what it was. Not reversible.
"""

import datetime as dt

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models
from django.db.migrations.operations.base import Operation

PARTITIONED = ("usagerecord", "errorreport", "censusrecord", "recordreceipt")


class NotOnPostgreSQL(Operation):
    """`operation`'s state change everywhere, its database change on any database but PostgreSQL
    (where convert_to_day_partitions makes it on the partitioned table)."""

    reversible = True

    def __init__(self, operation):
        self.operation = operation

    def deconstruct(self):
        return (self.__class__.__name__, [self.operation], {})

    def state_forwards(self, app_label, state):
        self.operation.state_forwards(app_label, state)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            self.operation.database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{self.operation.describe()} (on PostgreSQL: with the day partitions)"


def _fetch(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchall()


def _create_partition(cursor, table, day, indexes):
    """As telemetry/partitions.py makes one: a standalone table, its indexes named after the
    parent's, then ATTACH."""
    name = f"{table}_p{day:%Y%m%d}"
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    for index_name, definition in indexes:
        head, rest = definition.split(" USING ", 1)
        unique = "UNIQUE " if head.startswith("CREATE UNIQUE") else ""
        cursor.execute(f'CREATE {unique}INDEX "{index_name}_p{day:%Y%m%d}" ON "{name}" USING {rest}')
    cursor.execute(
        f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" '
        f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + dt.timedelta(days=1)).isoformat()}')"
    )


def _secondary_indexes(cursor, table):
    """(name, definition) of the table's indexes that back no constraint."""
    return _fetch(
        cursor,
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1",
        [table],
    )


def convert_to_day_partitions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    today = dt.datetime.now(dt.UTC).date()
    coming = {today + dt.timedelta(days=offset) for offset in range(-2, 8)}
    with schema_editor.connection.cursor() as cursor:
        for model_name in PARTITIONED:
            model = apps.get_model("telemetry", model_name)
            table = model._meta.db_table
            old = f"{table}_unpartitioned"
            for index_name, _ in _secondary_indexes(cursor, table):
                cursor.execute(f'DROP INDEX "{index_name}"')
            for (constraint,) in _fetch(
                cursor,
                "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
                [table],
            ):
                cursor.execute(
                    f'ALTER TABLE "{table}" RENAME CONSTRAINT "{constraint}" TO "{constraint}_unpartitioned"'
                )
            ((sequence,),) = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [table])
            if sequence:
                cursor.execute(f'ALTER SEQUENCE {sequence} RENAME TO "{table}_unpartitioned_id_seq"')
            cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{old}"')
            cursor.execute(
                f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY) '
                "PARTITION BY RANGE (day)"
            )
            # A partitioned table's unique keys hold its partition column; `id` stays unique on its own
            # (an identity sequence, or uuid4 for census), and stays Django's primary key.
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, day)')
            for index in model._meta.indexes:
                schema_editor.add_index(model, index)
            for constraint in model._meta.constraints:
                schema_editor.add_constraint(model, constraint)
            indexes = _secondary_indexes(cursor, table)
            held = {day for (day,) in _fetch(cursor, f'SELECT DISTINCT day FROM "{old}"')}  # noqa: S608
            for day in sorted(held | coming):
                _create_partition(cursor, table, day, indexes)
            cursor.execute(f'INSERT INTO "{table}" SELECT * FROM "{old}"')  # noqa: S608
            if sequence:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM \"{old}\" HAVING count(*) > 0",  # noqa: S608
                    [table],
                )
            cursor.execute(f'DROP TABLE "{old}"')


def _tenant_key():
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name="+",
        to="tenants.tenant",
    )


def _pool_key():
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name="+",
        to="tenants.pool",
    )


REMOVED_INDEXES = {
    "censusrecord": (
        "census_day",
        "census_app_day",
        "census_os_day",
        "census_version_day",
        "census_language_day",
        "census_time",
        "census_client_time",
    ),
    "usagerecord": (
        "usage_tenant_day",
        "usage_pool_day",
        "usage_day",
        "usage_record_id",
        "usage_time",
        "usage_tenant_time",
        "usage_pool_time",
        "usage_client_time",
    ),
    "errorreport": (
        "error_tenant_day",
        "error_day",
        "error_user_day",
        "error_code_day",
        "error_pool_day",
        "error_record_id",
        "error_time",
        "error_tenant_time",
        "error_pool_time",
        "error_client_time",
        "error_user_time",
        "error_code_upper_time",
    ),
}

ADDED_INDEXES = {
    "censusrecord": [
        models.Index(fields=["app_name"], name="census_app"),
        models.Index(fields=["os_name", "os_version"], name="census_os"),
        models.Index(fields=["os_version"], name="census_version"),
        models.Index(fields=["user_language"], name="census_language"),
        models.Index(fields=["timestamp", "id"], name="census_time"),
        models.Index(fields=["client", "timestamp", "id"], name="census_client_time"),
    ],
    "usagerecord": [
        models.Index(fields=["timestamp", "id"], name="usage_time"),
        models.Index(fields=["tenant", "timestamp", "id"], name="usage_tenant_time"),
        models.Index(fields=["pool", "timestamp", "id"], name="usage_pool_time"),
        models.Index(fields=["client", "timestamp", "id"], name="usage_client_time"),
    ],
    "errorreport": [
        models.Index(fields=["timestamp", "id"], name="error_time"),
        models.Index(fields=["tenant", "timestamp", "id"], name="error_tenant_time"),
        models.Index(fields=["pool", "timestamp", "id"], name="error_pool_time"),
        models.Index(fields=["client", "timestamp", "id"], name="error_client_time"),
        models.Index(fields=["user_hash", "timestamp", "id"], name="error_user_time"),
        models.Index(
            django.db.models.functions.text.Upper("error_code"),
            models.F("timestamp"),
            models.F("id"),
            name="error_code_upper_time",
        ),
    ],
}


class Migration(migrations.Migration):
    dependencies = [
        ("telemetry", "0006_censusdailysum"),
    ]

    operations = [
        # Receipts: keyed by the record's day, no index of their own beyond the key.
        migrations.RemoveConstraint(model_name="recordreceipt", name="receipt_unique_per_tenant"),
        migrations.RemoveIndex(model_name="recordreceipt", name="receipt_tenant_received"),
        migrations.RenameField(model_name="recordreceipt", old_name="received_on", new_name="day"),
        migrations.AlterField(
            model_name="recordreceipt",
            name="day",
            field=models.DateField(help_text="The record's day (the UTC date of its timestamp)."),
        ),
        NotOnPostgreSQL(
            migrations.AddConstraint(
                model_name="recordreceipt",
                constraint=models.UniqueConstraint(
                    fields=("tenant", "day", "record_id"), name="receipt_unique_per_tenant_day"
                ),
            )
        ),
        # No row-by-row foreign-key checks and no single-column index on the tables ingestion writes.
        migrations.AlterField(model_name="recordreceipt", name="tenant", field=_tenant_key()),
        migrations.AlterField(model_name="usagerecord", name="tenant", field=_tenant_key()),
        migrations.AlterField(model_name="usagerecord", name="pool", field=_pool_key()),
        migrations.AlterField(model_name="errorreport", name="tenant", field=_tenant_key()),
        migrations.AlterField(model_name="errorreport", name="pool", field=_pool_key()),
        migrations.AlterField(model_name="ingestioncount", name="tenant", field=_tenant_key()),
        migrations.AlterField(model_name="usagedailysum", name="tenant", field=_tenant_key()),
        migrations.AlterField(model_name="usagedailysum", name="pool", field=_pool_key()),
        migrations.AlterField(model_name="federationpartnerdailycount", name="tenant", field=_tenant_key()),
        migrations.AlterField(model_name="errorcodedailycount", name="tenant", field=_tenant_key()),
        migrations.AlterField(model_name="scrubbeddailycount", name="tenant", field=_tenant_key()),
        # The index diet.
        *(
            migrations.RemoveIndex(model_name=model_name, name=name)
            for model_name, names in REMOVED_INDEXES.items()
            for name in names
        ),
        *(
            NotOnPostgreSQL(migrations.AddIndex(model_name=model_name, index=index))
            for model_name, indexes in ADDED_INDEXES.items()
            for index in indexes
        ),
        migrations.RunPython(convert_to_day_partitions, elidable=False),
    ]

"""How one batch reaches the database: receipts, records and counts, inside the caller's transaction.

Two paths with identical results. PostgreSQL takes psycopg 3 COPY (receipts in a savepoint, with INSERT
... ON CONFLICT when some keys are taken) and INSERT ... ON CONFLICT for the counts, because ingestion
is the hot path and because the receipt claim must hold under concurrent identical batches.
Any other database (SQLite for a local run) takes the ORM.

Every method runs inside the transaction the caller opened; an error of the database surfaces as
Django's DatabaseError and the caller's rollback leaves nothing of the batch behind.
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from uuid import UUID

import psycopg
from django.db import DatabaseError, connection, transaction
from django.db.models import F

from telemetry.models import (
    ErrorCodeDailyCount,
    ErrorReport,
    FederationPartnerDailyCount,
    IngestionCount,
    RecordReceipt,
    ScrubbedDailyCount,
    StagedCensusRecord,
    UsageDailySum,
    UsageRecord,
)
from telemetry.records import CENSUS_COLUMNS, ERROR_COLUMNS, USAGE_COLUMNS, USAGE_COUNTER_NAMES
from telemetry.vocabulary import Category

# Per category, the record table and the columns its rows fill (telemetry/records.py).
RECORD_TABLES = {
    # Census rows are staged; the maintenance moves them into CensusRecord (census unlinkability).
    Category.CENSUS: (StagedCensusRecord, CENSUS_COLUMNS),
    Category.USAGE: (UsageRecord, USAGE_COLUMNS),
    Category.ERROR: (ErrorReport, ERROR_COLUMNS),
}


@dataclass(frozen=True)
class CountTable:
    """A count table: per tenant and `keys`, `values` that every batch adds to."""

    model: type
    keys: tuple[str, ...]
    values: tuple[str, ...]


LEDGER = CountTable(IngestionCount, ("day", "category", "client", "outcome", "reason"), ("records",))
USAGE_SUMS = CountTable(UsageDailySum, ("pool_id", "day"), ("records", *USAGE_COUNTER_NAMES))
FEDERATION_PARTNERS = CountTable(FederationPartnerDailyCount, ("day", "partner"), ("records",))
ERROR_CODES = CountTable(ErrorCodeDailyCount, ("day", "error_code"), ("records",))
SCRUBBED = CountTable(ScrubbedDailyCount, ("day",), ("replaced",))
COUNT_TABLES = (LEDGER, USAGE_SUMS, FEDERATION_PARTNERS, ERROR_CODES, SCRUBBED)


class Counts:
    """What one batch adds to the count tables of one tenant: per table, key -> values to add."""

    def __init__(self):
        self.increments: dict[CountTable, dict[tuple, list[int]]] = {table: {} for table in COUNT_TABLES}

    def add(self, table: CountTable, key: tuple, values: Sequence[int] = (1,)) -> None:
        sums = self.increments[table].get(key)
        if sums is None:
            self.increments[table][key] = list(values)
        else:
            for position, value in enumerate(values):
                sums[position] += value

    def rows(self, table: CountTable, tenant_id: int) -> list[tuple]:
        """(tenant_id, *key, *values) rows in key order, so two batches lock rows in the same order."""
        return [(tenant_id, *key, *values) for key, values in sorted(self.increments[table].items())]


class OrmStorage:
    """Any database: the ORM, one transaction. Concurrent identical batches are serialized by the
    unique receipt constraint (the loser fails and may retry), which is enough for a local run."""

    def claim(self, *, tenant_id: int, keys: Sequence[tuple[UUID, date]]) -> list[UUID]:
        """Write receipts for the (record id, record day) keys this tenant has not sent before; return
        the ids of those (a batch holds each id once)."""
        if not keys:
            return []
        known = set(
            RecordReceipt.objects.filter(
                tenant_id=tenant_id, record_id__in=[record_id for record_id, _ in keys]
            ).values_list("record_id", "day")
        )
        new = [key for key in keys if key not in known]
        RecordReceipt.objects.bulk_create(
            [RecordReceipt(tenant_id=tenant_id, record_id=record_id, day=day) for record_id, day in new],
            batch_size=500,
        )
        return [record_id for record_id, _ in new]

    def insert(self, *, rows: dict[str, list[tuple]]) -> None:
        """Store record rows, per category in the order of its columns."""
        for category, (model, columns) in RECORD_TABLES.items():
            if rows.get(category):
                model.objects.bulk_create(
                    [model(**dict(zip(columns, row, strict=True))) for row in rows[category]], batch_size=500
                )

    def add_counts(self, *, tenant_id: int, counts: Counts) -> None:
        """Add each increment to its row of a count table, creating the missing rows."""
        for table in COUNT_TABLES:
            width = len(table.keys)
            for row in counts.rows(table, tenant_id):
                lookup = dict(zip(table.keys, row[1 : 1 + width], strict=True))
                values = dict(zip(table.values, row[1 + width :], strict=True))
                if not table.model.objects.filter(tenant_id=tenant_id, **lookup).update(
                    **{name: F(name) + value for name, value in values.items()}
                ):
                    table.model.objects.create(tenant_id=tenant_id, **lookup, **values)


class PostgresStorage:
    """PostgreSQL: COPY and INSERT ... ON CONFLICT through the psycopg 3 connection Django holds.

    The receipt claim is one INSERT ... ON CONFLICT DO NOTHING RETURNING: a concurrent transaction
    inserting the same ids waits for ours to commit or roll back, then learns they are taken. So
    concurrent identical batches store each record exactly once. Ids and count keys are written in
    sorted order so that two batches always lock rows in the same order and never deadlock.
    """

    def _cursor(self):
        connection.ensure_connection()
        return connection.connection.cursor()

    def claim(self, *, tenant_id: int, keys: Sequence[tuple[UUID, date]]) -> list[UUID]:
        if not keys:
            return []
        connection.ensure_connection()
        # In index order (the unique key is (tenant, day, record id); PostgreSQL orders uuids as their
        # 128-bit numbers), so that two batches lock the same keys in the same order and never deadlock.
        ordered = sorted(keys, key=_receipt_order)
        # Usually every key is new: the receipts are COPYed in a savepoint, at about half the server
        # CPU of INSERT ... ON CONFLICT, whose speculative insertion costs a second index probe per
        # row (benchmarks/hot_path.py, "receipt claim"). A key taken already, or by a concurrent batch
        # (the COPY waits for its commit), fails the COPY: back to the savepoint, and the claim that
        # skips taken keys decides which are this batch's. Each receipt goes to the partition of its
        # record's day (PostgreSQL), where its unique key is checked in that day's small index.
        try:
            with transaction.atomic(), connection.wrap_database_errors, self._cursor() as cursor:
                copy_rows(
                    cursor,
                    RecordReceipt._meta.db_table,
                    ("tenant_id", "record_id", "day"),
                    [(tenant_id, record_id, day) for record_id, day in ordered],
                    types=("int8", "uuid", "date"),
                )
            return [record_id for record_id, _ in ordered]
        except DatabaseError:
            # A taken key: PostgreSQL says unique_violation; Citus relays a worker's as an internal
            # error (XX000). Any other failure of the COPY meets the claim below again, and raises.
            return self._claim_skipping_taken(tenant_id=tenant_id, ordered=ordered)

    def _claim_skipping_taken(self, *, tenant_id: int, ordered: Sequence[tuple[UUID, date]]) -> list[UUID]:
        """The claim when some keys are taken (a batch sent again): one INSERT ... ON CONFLICT DO
        NOTHING RETURNING, which answers the keys it inserted. A server-side binding cursor (Django's
        binds on the client): the keys travel as two arrays that the server unnests, each one text
        literal (array_literal): psycopg's adaptation of a list costs the worker several times more,
        element by element in Python. One constant text, so psycopg prepares it."""
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(
                f"INSERT INTO {RecordReceipt._meta.db_table} (tenant_id, record_id, day) "  # noqa: S608
                "SELECT %b, record_id, day FROM unnest(%b::uuid[], %b::date[]) AS k (record_id, day) "
                "ORDER BY day, record_id ON CONFLICT (tenant_id, day, record_id) DO NOTHING RETURNING record_id",
                (
                    tenant_id,
                    array_literal([record_id for record_id, _ in ordered]),
                    array_literal([day for _, day in ordered]),
                ),
            )
            # A list: each key is claimed once, and a UUID hashes in Python.
            return [record_id for (record_id,) in cursor.fetchall()]

    def insert(self, *, rows: dict[str, list[tuple]]) -> None:
        with connection.wrap_database_errors, self._cursor() as cursor:
            for category, (model, columns) in RECORD_TABLES.items():
                if rows.get(category):
                    copy_rows(cursor, model._meta.db_table, columns, rows[category], types=column_types(model, columns))

    def add_counts(self, *, tenant_id: int, counts: Counts) -> None:
        connection.ensure_connection()
        # A server-side binding cursor: each table's statement text is constant, so psycopg prepares
        # it after a few batches and the server stops planning it.
        with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
            for table in COUNT_TABLES:
                upsert(
                    cursor,
                    table.model._meta.db_table,
                    ("tenant_id", *table.keys),
                    table.values,
                    counts.rows(table, tenant_id),
                )


# Django's column types as psycopg names them, for binary COPY.
_PSYCOPG_TYPE_NAMES = {
    "timestamp with time zone": "timestamptz",
    "integer": "int4",
    "bigint": "int8",
    "boolean": "bool",
}


@functools.cache
def column_types(model, columns: tuple[str, ...]) -> tuple[str, ...]:
    """The PostgreSQL type of each column, as psycopg's binary COPY wants them declared (worked out
    once per process: asking Django's fields costs a batch about half a millisecond each time)."""
    types = []
    for column in columns:
        db_type = model._meta.get_field(column).db_type(connection).split("(")[0]
        types.append(_PSYCOPG_TYPE_NAMES.get(db_type, db_type))
    return tuple(types)


def copy_rows(cursor, table: str, columns: Sequence[str], rows: Iterable[tuple], *, types: Sequence[str]) -> None:
    """COPY rows into a table through a psycopg 3 cursor (the benchmark's ceiling uses it too).

    Binary format: psycopg dumps each value with its C dumper and the server parses nothing, which
    halves the client's cost of a batch against text COPY.
    """
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


# PostgreSQL types of the count tables' columns, for the arrays that upsert() unnests.
COUNT_COLUMN_TYPES = {"tenant_id": "bigint", "pool_id": "bigint", "day": "date"}


def upsert(cursor, table: str, key_columns: Sequence[str], value_columns: Sequence[str], rows: list[tuple]) -> None:
    """Add rows of counts to a table with a unique key on key_columns: existing rows are incremented.

    One statement whose text depends only on the table: the values travel as one array per column,
    so psycopg parses the query once, however many rows a batch has.
    """
    if not rows:
        return
    columns = (*key_columns, *value_columns)
    arrays = ", ".join(
        f"%s::{COUNT_COLUMN_TYPES.get(name, 'bigint' if name in value_columns else 'text')}[]" for name in columns
    )
    increments = ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in value_columns)
    cursor.execute(
        f"INSERT INTO {table} AS t ({', '.join(columns)}) SELECT * FROM unnest({arrays}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {increments}",
        [array_literal(column) for column in zip(*rows, strict=True)],
    )


def array_literal(values: Sequence) -> str:
    """A PostgreSQL array literal of ints, dates or strings, for one `%s::<type>[]` parameter: psycopg
    quotes one string instead of adapting every element in Python. A column of one kind is joined in C."""
    kinds = set(map(type, values))
    if kinds in ({int}, {date}):
        return "{" + ",".join(map(str, values)) + "}"  # a date's str() is its ISO form
    if kinds == {UUID}:
        return "{" + ",".join(["%032x" % value.int for value in values]) + "}"  # noqa: UP031 - the fastest
    if kinds == {str}:
        text = "".join(values)
        if '"' not in text and "\\" not in text:  # nothing to escape: quoted and joined in C
            return '{"' + '","'.join(values) + '"}'
    return "{" + ",".join(map(_array_element, values)) + "}"


def _array_element(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, int | date) and not isinstance(value, bool):
        return str(value)  # a date's str() is its ISO form
    raise TypeError(f"no array element for {type(value).__name__}")


def _receipt_order(key: tuple[UUID, date]) -> tuple[date, int]:
    record_id, day = key
    return day, record_id.int


def storage_for_connection() -> OrmStorage | PostgresStorage:
    return PostgresStorage() if connection.vendor == "postgresql" else OrmStorage()

"""How one batch reaches the database: receipts, records and counts, inside the caller's transaction.

Two paths with identical results. PostgreSQL takes psycopg 3 COPY and INSERT ... ON CONFLICT, because
ingestion is the hot path and because the receipt claim must hold under concurrent identical batches.
Any other database (SQLite for a local run) takes the ORM.

Every method runs inside the transaction the caller opened; an error of the database surfaces as
Django's DatabaseError and the caller's rollback leaves nothing of the batch behind.
"""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from django.db import connection
from django.db.models import F

from telemetry.models import (
    CensusRecord,
    ErrorCodeDailyCount,
    ErrorReport,
    FederationPartnerDailyCount,
    IngestionCount,
    RecordReceipt,
    UsageDailySum,
    UsageRecord,
    utc_today,
)

# A census row's id is a random uuid4 made in Python (telemetry.services), the same in both paths.
CENSUS_COLUMNS = (
    "id",
    "day",
    "timestamp",
    "client",
    "app_name",
    "device_model",
    "os_name",
    "os_version",
    "user_language",
    "user_hash",
    "device_id",
    "sign_in_attempts",
    "sign_in_failures",
)
USAGE_COLUMNS = (
    "tenant_id",
    "pool_id",
    "record_id",
    "day",
    "timestamp",
    "client",
    "ims_sent",
    "ims_received",
    "meeting_join_attempts",
    "meeting_join_successes",
    "call_minutes",
    "federation_partner",
)
ERROR_COLUMNS = (
    "tenant_id",
    "pool_id",
    "record_id",
    "day",
    "timestamp",
    "client",
    "user_hash",
    "message_direction",
    "conversation_state",
    "conversation_thread_id",
    "error_code",
    "error_log",
    "ip_network",
    "sip_uri_hash",
    "os_name",
    "crash",
)
USAGE_SUM_FIELDS = (
    "records",
    "ims_sent",
    "ims_received",
    "meeting_join_attempts",
    "meeting_join_successes",
    "call_minutes",
)

LedgerKey = tuple[dt.date, str, str, str, str]  # day, category, client, outcome, reason


@dataclass
class Counts:
    """What one batch adds to the count tables of one tenant."""

    ledger: dict[LedgerKey, int] = field(default_factory=dict)
    usage: dict[tuple[int, dt.date], list[int]] = field(default_factory=dict)  # (pool, day) -> USAGE_SUM_FIELDS
    partners: dict[tuple[dt.date, str], int] = field(default_factory=dict)
    error_codes: dict[tuple[dt.date, str], int] = field(default_factory=dict)

    def count(self, key: LedgerKey) -> None:
        self.ledger[key] = self.ledger.get(key, 0) + 1

    def add_usage(self, *, pool_id: int, day: dt.date, values: Sequence[int], partner: str) -> None:
        sums = self.usage.setdefault((pool_id, day), [0] * len(USAGE_SUM_FIELDS))
        sums[0] += 1
        for position, value in enumerate(values, start=1):
            sums[position] += value
        if partner:
            self.partners[(day, partner)] = self.partners.get((day, partner), 0) + 1

    def add_error(self, *, day: dt.date, error_code: str) -> None:
        self.error_codes[(day, error_code)] = self.error_codes.get((day, error_code), 0) + 1


class OrmStorage:
    """Any database: the ORM, one transaction. Concurrent identical batches are serialized by the
    unique receipt constraint (the loser fails and may retry), which is enough for a local run."""

    def claim(self, *, tenant_id: int, record_ids: Sequence[UUID]) -> set[UUID]:
        """Write receipts for the ids this tenant has not sent before; return those ids."""
        if not record_ids:
            return set()
        known = set(
            RecordReceipt.objects.filter(tenant_id=tenant_id, record_id__in=record_ids).values_list(
                "record_id", flat=True
            )
        )
        new = [record_id for record_id in record_ids if record_id not in known]
        RecordReceipt.objects.bulk_create(
            [RecordReceipt(tenant_id=tenant_id, record_id=record_id) for record_id in new], batch_size=500
        )
        return set(new)

    def insert(self, *, census: list[tuple], usage: list[tuple], errors: list[tuple]) -> None:
        for model, columns, rows in (
            (CensusRecord, CENSUS_COLUMNS, census),
            (UsageRecord, USAGE_COLUMNS, usage),
            (ErrorReport, ERROR_COLUMNS, errors),
        ):
            if rows:
                model.objects.bulk_create(
                    [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=500
                )

    def add_counts(self, *, tenant_id: int, counts: Counts) -> None:
        self._add(
            IngestionCount,
            ("day", "category", "client", "outcome", "reason"),
            tenant_id,
            {key: (n,) for key, n in counts.ledger.items()},
            ("records",),
        )
        self._add(
            UsageDailySum,
            ("pool_id", "day"),
            tenant_id,
            {k: tuple(v) for k, v in counts.usage.items()},
            USAGE_SUM_FIELDS,
        )
        self._add(
            FederationPartnerDailyCount,
            ("day", "partner"),
            tenant_id,
            {key: (n,) for key, n in counts.partners.items()},
            ("records",),
        )
        self._add(
            ErrorCodeDailyCount,
            ("day", "error_code"),
            tenant_id,
            {key: (n,) for key, n in counts.error_codes.items()},
            ("records",),
        )

    @staticmethod
    def _add(model, key_fields: Sequence[str], tenant_id: int, increments: dict[tuple, tuple], value_fields) -> None:
        """Add increments to the rows of a count table, creating the missing ones."""
        if not increments:
            return
        for key in sorted(increments):
            lookup = dict(zip(key_fields, key, strict=True))
            updates = {name: F(name) + value for name, value in zip(value_fields, increments[key], strict=True)}
            if not model.objects.filter(tenant_id=tenant_id, **lookup).update(**updates):
                model.objects.create(
                    tenant_id=tenant_id, **lookup, **dict(zip(value_fields, increments[key], strict=True))
                )


STAGING_TABLE = "telemetry_receipt_staging"


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

    def claim(self, *, tenant_id: int, record_ids: Sequence[UUID]) -> set[UUID]:
        if not record_ids:
            return set()
        with connection.wrap_database_errors, self._cursor() as cursor:
            # A session-lifetime temp table, emptied at every commit: no catalog churn per batch.
            cursor.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE} (record_id uuid NOT NULL) ON COMMIT DELETE ROWS"
            )
            # Emptied at commit already; this is for two batches in one outer transaction.
            cursor.execute(f"DELETE FROM {STAGING_TABLE}")  # noqa: S608 - a constant name
            with cursor.copy(f"COPY {STAGING_TABLE} (record_id) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["uuid"])
                # Unsorted here: the INSERT below takes them in index order (ORDER BY record_id).
                for record_id in record_ids:
                    copy.write_row((record_id,))
            cursor.execute(
                f"INSERT INTO {RecordReceipt._meta.db_table} (tenant_id, record_id, received_on) "  # noqa: S608
                f"SELECT %s, record_id, %s FROM {STAGING_TABLE} ORDER BY record_id "
                "ON CONFLICT (tenant_id, record_id) DO NOTHING RETURNING record_id",
                (tenant_id, utc_today()),
            )
            return {row[0] for row in cursor.fetchall()}

    def insert(self, *, census: list[tuple], usage: list[tuple], errors: list[tuple]) -> None:
        with connection.wrap_database_errors, self._cursor() as cursor:
            for model, columns, rows in (
                (CensusRecord, CENSUS_COLUMNS, census),
                (UsageRecord, USAGE_COLUMNS, usage),
                (ErrorReport, ERROR_COLUMNS, errors),
            ):
                if rows:
                    copy_rows(cursor, model._meta.db_table, columns, rows, types=column_types(model, columns))

    def add_counts(self, *, tenant_id: int, counts: Counts) -> None:
        with connection.wrap_database_errors, self._cursor() as cursor:
            upsert(
                cursor,
                IngestionCount._meta.db_table,
                ("tenant_id", "day", "category", "client", "outcome", "reason"),
                ("records",),
                [(tenant_id, *key, n) for key, n in sorted(counts.ledger.items())],
            )
            upsert(
                cursor,
                UsageDailySum._meta.db_table,
                ("tenant_id", "pool_id", "day"),
                USAGE_SUM_FIELDS,
                [(tenant_id, *key, *sums) for key, sums in sorted(counts.usage.items())],
            )
            upsert(
                cursor,
                FederationPartnerDailyCount._meta.db_table,
                ("tenant_id", "day", "partner"),
                ("records",),
                [(tenant_id, *key, n) for key, n in sorted(counts.partners.items())],
            )
            upsert(
                cursor,
                ErrorCodeDailyCount._meta.db_table,
                ("tenant_id", "day", "error_code"),
                ("records",),
                [(tenant_id, *key, n) for key, n in sorted(counts.error_codes.items())],
            )


# Django's column types as psycopg names them, for binary COPY.
_PSYCOPG_TYPE_NAMES = {
    "timestamp with time zone": "timestamptz",
    "integer": "int4",
    "bigint": "int8",
    "boolean": "bool",
}


def column_types(model, columns: Sequence[str]) -> list[str]:
    """The PostgreSQL type of each column, as psycopg's binary COPY wants them declared."""
    types = []
    for column in columns:
        db_type = model._meta.get_field(column).db_type(connection).split("(")[0]
        types.append(_PSYCOPG_TYPE_NAMES.get(db_type, db_type))
    return types


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
        [list(column) for column in zip(*rows, strict=True)],
    )


def storage_for_connection() -> OrmStorage | PostgresStorage:
    return PostgresStorage() if connection.vendor == "postgresql" else OrmStorage()

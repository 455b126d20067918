"""The periodic maintenance of lifecycle.md, one idempotent step at a time (`maintain_telemetry`)."""

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet

from telemetry.models import CensusDailySum, CensusRecord, ErrorReport, RecordReceipt, StagedCensusRecord, UsageRecord
from telemetry.records import CENSUS_COLUMNS, oldest_kept_day
from telemetry.schemas import MAX_FUTURE
from tenants.models import Tenant

# Every census column but the id, which the move draws afresh.
_MOVED_COLUMNS = tuple(column for column in CENSUS_COLUMNS if column != "id")

# What CensusDailySum sums per day, and the upsert that adds a day's moved rows to it (one statement for
# PostgreSQL and SQLite alike; `{rows}` is a VALUES list or a SELECT of (day, *_SUMMED)).
_SUMMED = ("records", "sign_in_attempts", "sign_in_failures")
_ADD_CENSUS_SUMS = (
    f"INSERT INTO {CensusDailySum._meta.db_table} AS t (day, {', '.join(_SUMMED)}) {{rows}} "
    "ON CONFLICT (day) DO UPDATE SET " + ", ".join(f"{name} = t.{name} + EXCLUDED.{name}" for name in _SUMMED)
)


def census_move_staged() -> int:
    """Move every staged census row into the census table and add it to the census sums; how many
    were moved.

    One transaction of its own takes every row staged since the last run (of every batch, however few),
    inserts them in random order under new random ids, deletes them from the staging table and adds
    them to CensusDailySum, one upsert per day. After it, no census row and no census sum shares a
    transaction id, an id or a physical neighbourhood with the batch it came in, nor so with that
    batch's tenant (lifecycle.md, "Census unlinkability"). The sums are written here and never at
    ingestion for the same reason: a sum written in a batch's transaction would carry its tenant.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _census_move_staged_postgres()
        staged = list(StagedCensusRecord.objects.values_list("id", *_MOVED_COLUMNS))
        if not staged:
            return 0
        StagedCensusRecord.objects.filter(pk__in=[row[0] for row in staged]).delete()
        random.shuffle(staged)
        moved = [CensusRecord(id=uuid.uuid4(), **dict(zip(_MOVED_COLUMNS, row[1:], strict=True))) for row in staged]
        CensusRecord.objects.bulk_create(moved, batch_size=500)
        sums: dict[dt.date, tuple[int, int, int]] = {}
        for record in moved:
            records, attempts, failures = sums.get(record.day, (0, 0, 0))
            sums[record.day] = (records + 1, attempts + record.sign_in_attempts, failures + record.sign_in_failures)
        with connection.cursor() as cursor:
            cursor.executemany(
                _ADD_CENSUS_SUMS.format(rows="VALUES (%s, %s, %s, %s)"),
                [(day, *values) for day, values in sorted(sums.items())],
            )
        return len(moved)


def _census_move_staged_postgres() -> int:
    """The move as one statement: the rows leave the staging table, enter the census table in random
    order under new ids, and what entered is summed per day into CensusDailySum."""
    columns = ", ".join(_MOVED_COLUMNS)
    add_sums = _ADD_CENSUS_SUMS.format(rows=f"SELECT day, {', '.join(_SUMMED)} FROM summed ORDER BY day")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH moved AS (DELETE FROM {StagedCensusRecord._meta.db_table} RETURNING {columns}), "  # noqa: S608
            f"inserted AS (INSERT INTO {CensusRecord._meta.db_table} (id, {columns}) "
            f"SELECT gen_random_uuid(), {columns} FROM moved ORDER BY random() "
            "RETURNING day, sign_in_attempts, sign_in_failures), "
            "summed AS (SELECT day, count(*) AS records, sum(sign_in_attempts) AS sign_in_attempts, "
            "sum(sign_in_failures) AS sign_in_failures FROM inserted GROUP BY day), "
            # A data-modifying WITH clause runs to completion whether the query reads it or not.
            f"added AS ({add_sums}) "
            "SELECT coalesce(sum(records), 0) FROM summed"
        )
        return cursor.fetchone()[0]


# --- Retention (lifecycle.md): what has expired leaves, a day partition at a time or chunk by chunk.

# Rows deleted per statement, each statement in a transaction of its own that lasts tens of
# milliseconds on PostgreSQL: the row locks it takes never hold up ingestion for more than a moment.
PURGE_CHUNK_ROWS = 10_000

# What purge_expired deletes, in the order it deletes them: records before their receipts, so that a
# stored record always has its receipt, even when a run stops half-way.
USAGE, ERROR_REPORTS, STAGED_CENSUS, CENSUS, RECEIPTS = "usage", "error_reports", "staged_census", "census", "receipts"
PURGE_ACTIONS = (USAGE, ERROR_REPORTS, STAGED_CENSUS, CENSUS, RECEIPTS)

# progress(action, rows deleted so far, rows to delete in all): called after each chunk of an action
# that takes more than one, and once when such an action is done (then the two numbers are equal).
PurgeProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Purged:
    """What one action of purge_expired deleted: rows, and of how many tenants (0 for census rows)."""

    rows: int
    tenants: int = 0


def purge_expired(*, today: dt.date, progress: PurgeProgress | None = None) -> dict[str, Purged]:
    """Delete every record already expired on `today`, and the receipts no record can need any more.

    A record is expired when its day is older than today minus its retention (lifecycle.md): usage
    records and error reports by their tenant's own retention, census rows (staged ones too) by
    TELEMETRY_CENSUS_RETENTION_DAYS. The count tables are left as they are.

    The receipt rule: a tenant's receipt received on day R is deleted when R is older than today minus
    the longest retention that can still accept one of the tenant's records, max(usage, error report,
    census retention) and one day more. A record is dated at most a day after the day it arrived, R
    (telemetry/schemas.py refuses later timestamps), so it is past its own retention once R is past
    the longest one by a day: the same record sent again is dropped as `expired` without its
    receipt, so it cannot be stored twice.

    Deletes in chunks of PURGE_CHUNK_ROWS rows, each in a short transaction of its own, through the
    day indexes of the record tables (and the receipts' (tenant, received_on) index); running it again
    deletes nothing more. Returns what each action of PURGE_ACTIONS deleted.
    """
    census_days = settings.TELEMETRY_CENSUS_RETENTION_DAYS
    usage, errors, receipts = [], [], []
    for tenant_id, usage_days, error_report_days in (
        Tenant.objects.all_tenants()
        .order_by("pk")
        .values_list("pk", "usage_retention_days", "error_report_retention_days")
    ):
        # A record may be dated up to a day after its receipt's day (MAX_FUTURE): one day more.
        longest = max(usage_days, error_report_days, census_days) + MAX_FUTURE.days
        usage.append((tenant_id, _older(UsageRecord, than=_oldest(today, usage_days), tenant_id=tenant_id)))
        errors.append((tenant_id, _older(ErrorReport, than=_oldest(today, error_report_days), tenant_id=tenant_id)))
        receipts.append(
            (tenant_id, _older(RecordReceipt, than=_oldest(today, longest), field="received_on", tenant_id=tenant_id))
        )
    census_kept = _oldest(today, census_days)
    work = {
        USAGE: usage,
        ERROR_REPORTS: errors,
        STAGED_CENSUS: [(None, _older(StagedCensusRecord, than=census_kept))],
        CENSUS: [(None, _older(CensusRecord, than=census_kept))],
        RECEIPTS: receipts,
    }
    return {action: _purge(action=action, expired=work[action], progress=progress) for action in PURGE_ACTIONS}


def _oldest(today: dt.date, retention_days: int) -> dt.date:
    return oldest_kept_day(today=today, retention_days=retention_days)


def _older(model, *, than: dt.date, field: str = "day", **filters) -> QuerySet:
    """The rows of `model` dated before `than`, oldest first: the order of the day indexes
    ((tenant, day) of the record tables, (tenant, received_on) of the receipts), which serve the query."""
    return model.objects.filter(**filters, **{f"{field}__lt": than}).order_by(field)


def _purge(*, action: str, expired: list[tuple[int | None, QuerySet]], progress: PurgeProgress | None) -> Purged:
    """Delete the rows of each (tenant id or None, query) of `expired`, chunk by chunk."""
    rows = tenants = 0
    total = None
    for position, (tenant_id, query) in enumerate(expired):
        deleted_here = 0
        while True:
            deleted = _delete_chunk(query)
            deleted_here += deleted
            if deleted < PURGE_CHUNK_ROWS:
                break
            if progress is not None:
                if total is None:
                    # Long work: counted once, so that progress can say how far it has come.
                    total = rows + deleted_here + sum(rest.count() for _, rest in expired[position:])
                progress(action, rows + deleted_here, max(total, rows + deleted_here))
        rows += deleted_here
        if tenant_id is not None and deleted_here:
            tenants += 1
    if progress is not None and total is not None:
        progress(action, rows, rows)
    return Purged(rows=rows, tenants=tenants)


def _delete_chunk(query: QuerySet) -> int:
    """Delete the first PURGE_CHUNK_ROWS rows of `query` in one statement and a transaction of its own."""
    chunk = query.values("pk")[:PURGE_CHUNK_ROWS]
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # = ANY(ARRAY(...)) reads the chunk's ids once (an init plan) and deletes them through the
            # primary key; as IN (SELECT ...), PostgreSQL may hash-join them against the whole table.
            sql, params = chunk.query.sql_with_params()
            meta = query.model._meta
            table, pk = connection.ops.quote_name(meta.db_table), connection.ops.quote_name(meta.pk.column)
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {table} WHERE {pk} = ANY(ARRAY({sql}))", params)  # noqa: S608
                return cursor.rowcount
        deleted, _ = query.model.objects.filter(pk__in=chunk).delete()
        return deleted

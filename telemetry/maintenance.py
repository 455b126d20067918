"""The periodic maintenance of lifecycle.md, one idempotent step at a time (`maintain_telemetry`)."""

import datetime as dt
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import CompositePrimaryKey, QuerySet

from telemetry.models import (
    CensusDailySum,
    CensusRecord,
    ErrorReport,
    RecordReceipt,
    StagedCensusRecord,
    UsageRecord,
)
from telemetry.partitions import (
    LockTimeout,
    day_partitions,
    detached_leftovers,
    drop_leftover,
    drop_partition,
    ensure_day_partitions,
    is_partitioned,
    longest_retention_days,
    reattach_partition,
)
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
    # The census partitions of the staged days (PostgreSQL), made before the move's transaction opens.
    staged_days = StagedCensusRecord.objects.values_list("day", flat=True).distinct()
    ensure_day_partitions(set(staged_days), tables=[CensusRecord._meta.db_table])
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
    """What one action of purge_expired deleted: rows, of how many tenants (0 for census rows), how
    many day partitions it dropped to do so (PostgreSQL), and the partitions it left to the next run
    because a lock was not had within partitions.LOCK_TIMEOUT."""

    rows: int
    tenants: int = 0
    partitions: int = 0
    busy: tuple[str, ...] = ()


def purge_expired(*, today: dt.date, progress: PurgeProgress | None = None) -> dict[str, Purged]:
    """Delete every record already expired on `today`, and the receipts no record can need any more.

    A record is expired when its day is older than today minus its retention (lifecycle.md): usage
    records and error reports by their tenant's own retention, census rows (staged ones too) by
    TELEMETRY_CENSUS_RETENTION_DAYS. The count tables are left as they are.

    The receipt rule: a tenant's receipt of day D (its record's day) is deleted when D is older than
    today minus the longest retention that can still accept one of the tenant's records, max(usage,
    error report, census retention), and one day more: a record sent again after that is dropped as
    `expired` (and gets no receipt), so it cannot be stored twice. The day more covers a batch decided
    just before midnight and stored just after.

    On PostgreSQL a day expired for every tenant leaves as a whole: its partition is detached
    concurrently and dropped (partitions.drop_partition), which blocks no insert; a day expired for
    some tenants only loses their rows, deleted from that day's partition alone. On SQLite the rows are
    deleted through the day indexes. Either way rows are deleted in chunks of PURGE_CHUNK_ROWS rows,
    each in a short transaction of its own, and running it again deletes nothing more. Returns what
    each action of PURGE_ACTIONS deleted.
    """
    census_days = settings.TELEMETRY_CENSUS_RETENTION_DAYS
    usage_kept, errors_kept, receipts_kept = {}, {}, {}
    for tenant_id, usage_days, error_report_days in (
        Tenant.objects.all_tenants()
        .order_by("pk")
        .values_list("pk", "usage_retention_days", "error_report_retention_days")
    ):
        # A record may be dated up to a day after the day it is decided on (MAX_FUTURE): one day more.
        longest = longest_retention_days(usage_days=usage_days, error_report_days=error_report_days)
        usage_kept[tenant_id] = _oldest(today, usage_days)
        errors_kept[tenant_id] = _oldest(today, error_report_days)
        receipts_kept[tenant_id] = _oldest(today, longest + MAX_FUTURE.days)
    census_kept = _oldest(today, census_days)
    staged = _Rows([(None, _older(StagedCensusRecord, than=census_kept))])
    if is_partitioned():
        work = {
            USAGE: _Days(UsageRecord, kept=usage_kept),
            ERROR_REPORTS: _Days(ErrorReport, kept=errors_kept),
            STAGED_CENSUS: staged,
            CENSUS: _Days(CensusRecord, kept={None: census_kept}),
            RECEIPTS: _Days(RecordReceipt, kept=receipts_kept),
        }
    else:
        work = {
            USAGE: _Rows([(t, _older(UsageRecord, than=day, tenant_id=t)) for t, day in usage_kept.items()]),
            ERROR_REPORTS: _Rows([(t, _older(ErrorReport, than=day, tenant_id=t)) for t, day in errors_kept.items()]),
            STAGED_CENSUS: staged,
            CENSUS: _Rows([(None, _older(CensusRecord, than=census_kept))]),
            RECEIPTS: _Rows([(t, _older(RecordReceipt, than=day, tenant_id=t)) for t, day in receipts_kept.items()]),
        }
    return {action: work[action].purge(action=action, progress=progress) for action in PURGE_ACTIONS}


def _oldest(today: dt.date, retention_days: int) -> dt.date:
    return oldest_kept_day(today=today, retention_days=retention_days)


def _older(model, *, than: dt.date, **filters) -> QuerySet:
    """The rows of `model` dated before `than`, oldest first: the order of the indexes that serve the
    query on SQLite."""
    return model.objects.filter(**filters, day__lt=than).order_by("day")


class _Chunks:
    """Deleting what expired, chunk by chunk, with progress: each item of `items` is deleted until a
    chunk comes back short; `count(item)` says what is left of an item (only asked of long work)."""

    def chunked(self, *, action: str, items: list, progress: PurgeProgress | None, done: int = 0) -> tuple[int, set]:
        rows, tenants, total, reported = done, set(), None, None
        for position, item in enumerate(items):
            while True:
                deleted, of_tenants = self.delete_chunk(item)
                rows += deleted
                tenants |= of_tenants
                if deleted < PURGE_CHUNK_ROWS:
                    break
                if progress is not None:
                    if total is None:
                        # Long work: counted once, so that progress can say how far it has come.
                        total = rows + sum(self.count(rest) for rest in items[position:])
                    reported = (rows, max(total, rows))
                    progress(action, *reported)
        if progress is not None and total is not None and reported != (rows, rows):
            progress(action, rows, rows)
        return rows - done, tenants


class _Rows(_Chunks):
    """Rows deleted through a query: (tenant id or None, the query of its expired rows)."""

    def __init__(self, expired: list[tuple[int | None, QuerySet]]):
        self.expired = expired

    def purge(self, *, action: str, progress: PurgeProgress | None) -> Purged:
        rows, tenants = self.chunked(action=action, items=self.expired, progress=progress)
        return Purged(rows=rows, tenants=len(tenants - {None}))

    def delete_chunk(self, item) -> tuple[int, set]:
        tenant_id, query = item
        deleted = _delete_chunk(query)
        return deleted, {tenant_id} if deleted else set()

    def count(self, item) -> int:
        return item[1].count()


class _Days(_Chunks):
    """A partitioned table's expired days (PostgreSQL): `kept` maps each tenant (None for census) to
    the oldest day kept for it. A day older than every tenant's is dropped whole; in a day that some
    tenants keep, the others' rows are deleted from that partition alone."""

    def __init__(self, model, *, kept: dict[int | None, dt.date]):
        self.table = model._meta.db_table
        self.kept = kept
        self.by_tenant = None not in kept
        # What finds a row in one partition: its id, or a receipt's record id (its key is the tenant,
        # the day and the record id, and a partition holds one day).
        self.row_key = "record_id" if isinstance(model._meta.pk, CompositePrimaryKey) else model._meta.pk.column

    def purge(self, *, action: str, progress: PurgeProgress | None) -> Purged:
        if not self.kept:
            return Purged(rows=0)
        expired_for_all = min(self.kept.values())
        with connection.cursor() as cursor:
            found = day_partitions(cursor, [self.table])
            leftovers = detached_leftovers(cursor, [self.table])
        rows, tenants, dropped, busy, shared_days = 0, set(), 0, [], []
        for name in leftovers:  # detached by a run that stopped before its DROP
            if _day_of(name) < expired_for_all:
                try:
                    drop_leftover(name)
                except LockTimeout:
                    busy.append(name)
        for partition in found:
            if partition.day < expired_for_all:
                counted = self._rows_by_tenant(partition.name)
                try:
                    drop_partition(partition)
                except LockTimeout:
                    busy.append(partition.name)
                    continue
                dropped += 1
                rows += sum(counted.values())
                tenants |= set(counted)
            elif partition.detach_pending:
                # A detach interrupted after the day became kept again (a retention grew): back it goes.
                reattach_partition(partition)
            elif self.by_tenant:
                expired_here = sorted(t for t, oldest in self.kept.items() if partition.day < oldest)
                if expired_here:
                    shared_days.append((partition.name, expired_here))
        deleted, of_tenants = self.chunked(action=action, items=shared_days, progress=progress, done=rows)
        return Purged(
            rows=rows + deleted,
            tenants=len((tenants | of_tenants) - {None}) if self.by_tenant else 0,
            partitions=dropped,
            busy=tuple(busy),
        )

    def _rows_by_tenant(self, partition: str) -> dict[int | None, int]:
        """What a partition about to be dropped holds, per tenant: what the run says it deleted."""
        with connection.cursor() as cursor:
            if self.by_tenant:
                cursor.execute(f'SELECT tenant_id, count(*) FROM "{partition}" GROUP BY tenant_id')  # noqa: S608
                return dict(cursor.fetchall())
            cursor.execute(f'SELECT count(*) FROM "{partition}"')  # noqa: S608
            (rows,) = cursor.fetchone()
            return {None: rows} if rows else {}

    def delete_chunk(self, item) -> tuple[int, set]:
        partition, tenant_ids = item
        key = self.row_key
        with transaction.atomic(), connection.cursor() as cursor:
            # = ANY(ARRAY(...)) reads the chunk's keys once and deletes them through the partition's
            # primary key (the day bounds a receipt's key: the partition's one day); the chunk is found
            # by the tenant's index of that partition.
            cursor.execute(
                f'WITH deleted AS (DELETE FROM "{partition}" WHERE tenant_id = ANY(%s::bigint[]) '  # noqa: S608
                f"AND day = %s AND {key} = ANY(ARRAY("
                f'SELECT {key} FROM "{partition}" WHERE tenant_id = ANY(%s::bigint[]) LIMIT %s)) RETURNING tenant_id) '
                "SELECT tenant_id, count(*) FROM deleted GROUP BY tenant_id",
                [tenant_ids, _day_of(partition), tenant_ids, PURGE_CHUNK_ROWS],
            )
            counted = dict(cursor.fetchall())
        return sum(counted.values()), set(counted)

    def count(self, item) -> int:
        partition, tenant_ids = item
        with connection.cursor() as cursor:
            cursor.execute(f'SELECT count(*) FROM "{partition}" WHERE tenant_id = ANY(%s::bigint[])', [tenant_ids])  # noqa: S608
            return cursor.fetchone()[0]


def _day_of(partition: str) -> dt.date:
    return dt.datetime.strptime(partition[-8:], "%Y%m%d").date()


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


# --- Day partitions to come (PostgreSQL).

# The days the maintenance prepares, relative to today: yesterday (a late batch) to a week ahead.
PREPARED_DAYS = range(-1, 8)


def prepare_day_partitions(*, today: dt.date) -> int:
    """Make the partitions of the coming days that are missing; how many days were made (0 on SQLite)."""
    return len(ensure_day_partitions({today + dt.timedelta(days=offset) for offset in PREPARED_DAYS}))

"""Day partitions of the record tables on PostgreSQL: which exist, making the missing ones, and the
DDL the maintenance drops expired days with (lifecycle.md, "Periodic maintenance").

On PostgreSQL, UsageRecord, ErrorReport, CensusRecord and RecordReceipt are declarative partitioned
tables, `PARTITION BY RANGE (day)`, one partition per UTC day named `<table>_pYYYYMMDD`
(migration 0007). On SQLite they are plain tables and everything here does nothing.

A partition is made as a standalone table with its indexes (named `<parent index>_pYYYYMMDD`, so
plans read `usage_time_p20261203`), then attached: ATTACH takes SHARE UPDATE EXCLUSIVE on the parent,
which lets ingestion's inserts and the browsers' reads go on (CREATE TABLE ... PARTITION OF would take
ACCESS EXCLUSIVE). There is no DEFAULT partition: it would forbid DETACH CONCURRENTLY and make every
attach scan it. So a row's day must have its partition before the row is written: ingestion asks
`ensure_batch_partitions` before its batch's transaction opens, the census move and the ORM's save()
and bulk_create() ask `ensure_day_partitions` (telemetry/models.py), and the maintenance prepares the
coming days.
"""

import datetime as dt
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from telemetry.records import oldest_kept_day
from telemetry.vocabulary import Category

# DDL on a parent waits at most this long for a lock, then gives up (and the maintenance says it will
# retry): a waiting ALTER TABLE would queue every later statement on the table behind it.
LOCK_TIMEOUT = "2s"

_BOUND_RE = re.compile(r"FROM \('(\d{4}-\d{2}-\d{2})'\)")
_INDEX_RE = re.compile(r"^CREATE (UNIQUE )?INDEX (\S+) ON (?:ONLY )?(\S+) (USING .*)$")


def partitioned_tables() -> list[str]:
    """The tables partitioned by day: the models that say `day_partitioned = True`."""
    return sorted(
        model._meta.db_table
        for model in apps.get_app_config("telemetry").get_models()
        if getattr(model, "day_partitioned", False)
    )


def partition_name(table: str, day: dt.date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


# Per database: whether it is a Citus coordinator (asked once per process; the extension is not
# dropped under a running portal).
_citus: dict[tuple, bool] = {}


def is_citus() -> bool:
    """Whether the database is a Citus coordinator. Its day partitions are made as on PostgreSQL (Citus
    distributes a table attached to a distributed parent, co-located with it), but dropped with a
    plain DETACH: Citus has no DETACH ... CONCURRENTLY."""
    if not is_partitioned():
        return False
    key = _database_key()
    if key not in _citus:
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
            _citus[key] = cursor.fetchone()[0]
    return _citus[key]


@dataclass(frozen=True)
class Partition:
    table: str  # the parent
    name: str
    day: dt.date
    detach_pending: bool = False  # a DETACH ... CONCURRENTLY that was interrupted


def day_partitions(cursor, tables: Iterable[str]) -> list[Partition]:
    """The partitions of `tables`, read from pg_inherits (their day from their bound)."""
    cursor.execute(
        "SELECT parent.relname, child.relname, pg_get_expr(child.relpartbound, child.oid), i.inhdetachpending "
        "FROM pg_inherits i JOIN pg_class parent ON parent.oid = i.inhparent "
        "JOIN pg_class child ON child.oid = i.inhrelid "
        "WHERE i.inhparent = ANY(%s::regclass[]) ORDER BY 1, 2",
        [list(tables)],
    )
    found = []
    for parent, child, bound, pending in cursor.fetchall():
        match = _BOUND_RE.search(bound or "")
        if match:
            found.append(Partition(parent, child, dt.date.fromisoformat(match.group(1)), pending))
    return found


# The days known to have their partition in every partitioned table, per database: a process-level
# cache, refreshed from pg_inherits on a miss, so that a batch whose days are known asks nothing.
_known: dict[tuple, dict[str, set[dt.date]]] = {}
_known_lock = threading.Lock()


def _database_key() -> tuple:
    settings = connection.settings_dict
    return (settings.get("HOST"), settings.get("PORT"), settings.get("NAME"))


def _refresh(tables: list[str]) -> dict[str, set[dt.date]]:
    with connection.cursor() as cursor:
        found: dict[str, set[dt.date]] = {table: set() for table in tables}
        for partition in day_partitions(cursor, tables):
            if not partition.detach_pending:
                found[partition.table].add(partition.day)
    _remember(found)
    return found


def _remember(known: dict[str, set[dt.date]]) -> None:
    """Keep what was read for the next ask, unless it was read inside a caller's transaction: that one
    may see partitions it made itself and has yet to commit (or roll back)."""
    if connection.in_atomic_block:
        return
    with _known_lock:
        _known[_database_key()] = known


def forget_day(table: str, day: dt.date) -> None:
    """The maintenance dropped (or is dropping) this partition: the next ask reads pg_inherits again."""
    with _known_lock:
        known = _known.get(_database_key())
        if known is not None:
            known.get(table, set()).discard(day)


def longest_retention_days(*, usage_days: int, error_report_days: int) -> int:
    """How long a tenant keeps some record: the longest of its usage, its error report and the census
    retention (lifecycle.md, "Retention")."""
    return max(usage_days, error_report_days, settings.TELEMETRY_CENSUS_RETENTION_DAYS)


def _table(model_name: str) -> str:
    return apps.get_model("telemetry", model_name)._meta.db_table


def ensure_batch_partitions(*, tenant, records: Iterable[tuple[str, dt.date]]) -> set[dt.date]:
    """The partitions a batch of `tenant` may write, made before its transaction opens: for each of
    its valid records, as (category, day), the receipt's day and the day of its record table (census
    rows are staged: their partitions are made when the maintenance moves them). A record already
    expired by its tenant's retention writes neither (it is dropped, and gets no receipt): its day
    is left out, so that old records never make (nor bring back) a partition."""
    today = dt.datetime.now(dt.UTC).date()
    kept_since = {
        Category.CENSUS: oldest_kept_day(today=today, retention_days=settings.TELEMETRY_CENSUS_RETENTION_DAYS),
        Category.USAGE: oldest_kept_day(today=today, retention_days=tenant.usage_retention_days),
        Category.ERROR: oldest_kept_day(today=today, retention_days=tenant.error_report_retention_days),
    }
    receipts = _table("RecordReceipt")
    record_tables = {Category.USAGE: _table("UsageRecord"), Category.ERROR: _table("ErrorReport")}
    wanted: dict[str, set[dt.date]] = {}
    for category, day in set(records):  # a batch has a few distinct (category, day) pairs
        if day < kept_since[category]:
            continue
        wanted.setdefault(receipts, set()).add(day)
        if category in record_tables:
            wanted.setdefault(record_tables[category], set()).add(day)
    return _ensure(wanted)


def ensure_day_partitions(days: Iterable[dt.date], *, tables: Iterable[str] | None = None) -> set[dt.date]:
    """Make sure each of `tables` (every partitioned table unless told) has a partition for each of
    `days`; return the days for which one was made."""
    days = set(days)
    return _ensure({table: days for table in (partitioned_tables() if tables is None else tables)})


def _ensure(wanted: dict[str, set[dt.date]]) -> set[dt.date]:
    """Make the missing partitions of `wanted` (table: days); return the days made.

    Cheap when the days are known (a look-up in this process's cache). Each missing day is made in a
    short transaction of its own, never in the caller's: outside a transaction on this connection,
    inside one (a caller's atomic block) on a separate connection, as DDL in the caller's transaction
    would hold the parent's lock until it commits. Two processes making the same day: the loser's
    CREATE fails, it reads pg_inherits again, finds the day, makes those of its tables the other did
    not (a batch makes only the tables it writes), and goes on. Does nothing on SQLite.
    """
    wanted = {table: days for table, days in wanted.items() if days}
    if not wanted or not is_partitioned():
        return set()
    with _known_lock:
        known = _known.get(_database_key())
    if known is not None and all(days <= known.get(table, set()) for table, days in wanted.items()):
        return set()
    known = _refresh(partitioned_tables())
    missing: dict[dt.date, list[str]] = {}
    for table, days in sorted(wanted.items()):
        for day in days - known[table]:
            missing.setdefault(day, []).append(table)
    if missing:
        _create_days(missing, known=known)
    return set(missing)


def _create_days(missing: dict[dt.date, list[str]], *, known: dict[str, set[dt.date]]) -> None:
    separate = connection.in_atomic_block
    wrapper = connection.copy() if separate else connection
    try:
        wrapper.ensure_connection()
        with wrapper.wrap_database_errors:
            raw = wrapper.connection
            index_definitions: dict[str, list[tuple[str, str]]] = {}
            for day, day_tables in sorted(missing.items()):
                tables = day_tables
                while tables:
                    try:
                        with raw.transaction(), raw.cursor() as cursor:
                            # Never wait long: on a separate connection, the lock may be the caller's own.
                            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                            for table in tables:
                                if table not in index_definitions:
                                    index_definitions[table] = _parent_indexes(cursor, table)
                                _create_partition(cursor, table, day, index_definitions[table])
                    except Exception as error:
                        # Another process may have made some of them meanwhile (duplicate table,
                        # already a partition), perhaps not all: a batch makes only the tables it
                        # writes. Those still missing are made again, as long as others make progress.
                        found = _refresh(partitioned_tables())
                        still_missing = [table for table in tables if day not in found[table]]
                        if len(still_missing) < len(tables):
                            known, tables = found, still_missing
                            continue
                        if separate and getattr(error, "sqlstate", None) == "55P03":
                            # The lock is the caller's own: its transaction altered the parent (a test, a
                            # shell's atomic block). The day is made in that transaction, and not
                            # remembered, as it may yet roll back.
                            _create_in_callers_transaction(day, tables)
                            break
                        raise
                    for table in tables:
                        known[table].add(day)
                    break
    finally:
        if separate:
            wrapper.close()
    _remember(known)


def _create_in_callers_transaction(day: dt.date, tables: list[str]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for table in tables:
            _create_partition(cursor, table, day, _parent_indexes(cursor, table))


def _parent_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """The parent's indexes that are not a constraint's (ATTACH makes the primary key and unique
    constraints' indexes itself), as (name, definition)."""
    cursor.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1",
        [table],
    )
    return cursor.fetchall()


def _create_partition(cursor, table: str, day: dt.date, indexes: list[tuple[str, str]]) -> None:
    """CREATE the day's table like its parent, its indexes, then ATTACH it (see the module's text)."""
    name = partition_name(table, day)
    cursor.execute(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)')
    for index_name, definition in indexes:
        match = _INDEX_RE.match(definition)
        if match is None:
            raise DatabaseError(f"Cannot read the definition of index {index_name}.")
        unique, _, _, rest = match.groups()
        cursor.execute(f'CREATE {unique or ""}INDEX "{index_name}_p{day:%Y%m%d}" ON "{name}" {rest}')
    cursor.execute(
        f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" '
        f"FOR VALUES FROM ('{day.isoformat()}') TO ('{(day + dt.timedelta(days=1)).isoformat()}')"
    )


# --- Dropping a day: what the maintenance calls (telemetry/maintenance.py).


class LockTimeout(Exception):
    """DDL gave up waiting for a lock (LOCK_TIMEOUT): the maintenance leaves it to its next run."""


def _is_lock_timeout(error: BaseException) -> bool:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) == "55P03"  # lock_not_available


def _run_ddl(statement: str) -> None:
    """One DDL statement with LOCK_TIMEOUT. Outside a transaction it runs on its own (which DETACH
    ... CONCURRENTLY requires); inside one (tests, a caller's atomic block) under a savepoint, so that
    a failure leaves the caller's transaction usable."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                cursor.execute(statement)
                cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
            return
        with connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
            try:
                cursor.execute(statement)
            finally:
                cursor.execute("RESET lock_timeout")
    except DatabaseError as error:
        if _is_lock_timeout(error):
            raise LockTimeout(statement) from error
        raise


def drop_partition(partition: Partition) -> None:
    """Detach the partition, then drop it, without blocking ingestion.

    Outside a transaction, DETACH PARTITION ... CONCURRENTLY: it waits for the transactions that may
    still read the partition and blocks no new one (ingestion's inserts into other days go on). A
    detach interrupted half-way (the partition is left "detach pending") is finished with FINALIZE.
    Inside a transaction (where CONCURRENTLY is not allowed: tests, a caller's atomic block) a plain
    DETACH. Raises LockTimeout when a lock was not had within LOCK_TIMEOUT; what was done stays done.
    """
    forget_day(partition.table, partition.day)
    parent, name = partition.table, partition.name
    if partition.detach_pending:
        _run_ddl(f'ALTER TABLE "{parent}" DETACH PARTITION "{name}" FINALIZE')
    elif connection.in_atomic_block or is_citus():
        # On Citus the plain DETACH locks the parent and its shards for as long as it takes to take
        # the locks (LOCK_TIMEOUT at most, then the maintenance retries); it reads no rows.
        _run_ddl(f'ALTER TABLE "{parent}" DETACH PARTITION "{name}"')
    else:
        _run_ddl(f'ALTER TABLE "{parent}" DETACH PARTITION "{name}" CONCURRENTLY')
    _run_ddl(f'DROP TABLE "{name}"')


def reattach_partition(partition: Partition) -> None:
    """Finish an interrupted detach and attach the partition again (its day is kept after all)."""
    forget_day(partition.table, partition.day)
    _run_ddl(f'ALTER TABLE "{partition.table}" DETACH PARTITION "{partition.name}" FINALIZE')
    _run_ddl(
        f'ALTER TABLE "{partition.table}" ATTACH PARTITION "{partition.name}" '
        f"FOR VALUES FROM ('{partition.day.isoformat()}') TO ('{(partition.day + dt.timedelta(days=1)).isoformat()}')"
    )


def detached_leftovers(cursor, tables: Iterable[str]) -> list[str]:
    """Tables named like a day partition of `tables` but attached to none: a run that detached them
    and stopped before its DROP."""
    patterns = [f"{table}\\_p________" for table in tables]
    cursor.execute(
        "SELECT c.relname FROM pg_class c WHERE c.relkind = 'r' AND c.relname LIKE ANY(%s) "
        "AND c.relnamespace = current_schema()::regnamespace AND NOT c.relispartition ORDER BY 1",
        [patterns],
    )
    return [name for (name,) in cursor.fetchall() if re.search(r"_p\d{8}$", name)]


def drop_leftover(name: str) -> None:
    _run_ddl(f'DROP TABLE "{name}"')

"""The portal on Citus (README, "Scaling out: Citus"): which table is distributed how, and the one step
that distributes them, `manage.py distribute_on_citus`.

- Every table a tenant owns (its records, receipts, counts and end users) is distributed by
  `tenant_id`, all in one co-location group: one batch's receipts, records and counts live on one
  node, and its transaction stays local to that node. Their primary and unique keys hold `tenant_id`
  (migrations telemetry 0009 and tenants 0010), and no foreign key joins two of them.
- Census rows name no tenant: distributed by their own random `id`, in a group of their own.
- The topology that every batch reads (tenants, sites, pools, Meetings App settings, ingestion keys)
  is made of reference tables: a copy on every node, so a batch's joins and foreign keys stay local.
- Everything else stays on the coordinator: Django's auth, sessions and axes, the audit log, the
  portal roles, the staged census rows and the census sums (those that reference a reference table
  become Citus "local tables", still on the coordinator alone).

A command rather than a migration: the step depends on the cluster, not on the schema's history. An
operator moving an existing database to Citus installs the extension after `migrate` has long run;
the command distributes whatever is not distributed yet, rows included, at any time, and does nothing
the second time. Migrations stay ordinary and run unchanged on SQLite, PostgreSQL and Citus.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from telemetry.models import (
    CensusRecord,
    ErrorCodeDailyCount,
    ErrorReport,
    FederationPartnerDailyCount,
    IngestionCount,
    RecordReceipt,
    ScrubbedDailyCount,
    UsageDailySum,
    UsageRecord,
)
from tenants.models import AuditLogEntry, EndUser, IngestionKey, Pool, PortalRole, Site, Tenant, WebServiceConfiguration

# The first is the co-location group's anchor; the rest are co-located with it.
DISTRIBUTED_BY_TENANT = (
    UsageRecord,
    ErrorReport,
    RecordReceipt,
    IngestionCount,
    UsageDailySum,
    FederationPartnerDailyCount,
    ScrubbedDailyCount,
    ErrorCodeDailyCount,
    EndUser,
)
DISTRIBUTED_BY_ID = (CensusRecord,)
REFERENCE = (Tenant, Site, Pool, WebServiceConfiguration, IngestionKey)
# Rows of a tenant that stay on the coordinator: written and read rarely, joined with Django's users.
LOCAL_ON_COORDINATOR = (AuditLogEntry, PortalRole)

TENANT_COLUMN = "tenant_id"
NOT_CITUS = "The database has no citus extension (CREATE EXTENSION citus, then add the worker nodes)."
NO_WORKERS = "The Citus cluster has no worker node (SELECT citus_add_node(host, port) on the coordinator)."


def has_citus() -> bool:
    """Whether the database is a Citus coordinator (the extension is installed)."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
        return cursor.fetchone() is not None


class CitusError(Exception):
    pass


@dataclass(frozen=True)
class Step:
    table: str
    how: str  # "distributed by tenant_id", "distributed by id", "reference"
    done_before: bool  # already so: nothing was done


def _citus_tables(cursor) -> dict[str, tuple[str, str]]:
    """table: (citus_table_type, distribution column) of the tables Citus knows."""
    cursor.execute("SELECT table_name::text, citus_table_type, distribution_column FROM citus_tables")
    return {name.strip('"'): (kind, column) for name, kind, column in cursor.fetchall()}


def _foreign_keys_touching(cursor, tables: list[str]) -> list[tuple[str, str, str]]:
    """(table, name, definition) of every foreign key from or to one of `tables`."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype = 'f' AND conparentid = 0 "
        "AND (conrelid = ANY(%s::regclass[]) OR confrelid = ANY(%s::regclass[])) ORDER BY 1, 2",
        [tables, tables],
    )
    return [(table.strip('"'), name, definition) for table, name, definition in cursor.fetchall()]


def distribute(*, shard_count: int | None = None) -> list[Step]:
    """Distribute what is not distributed yet (see the module's text), in one transaction.

    The foreign keys that touch these tables are dropped first and made again last: Citus distributes
    a table only when its foreign keys point at reference tables, and makes the topology's reference
    tables only when no plain table depends on them (a table that does would become a "Citus local
    table", which an identity column keeps from ever being distributed). The rows already stored move
    to the shards, and the coordinator's local copies are emptied.
    """
    if not has_citus():
        raise CitusError(NOT_CITUS)
    plan = (
        [(model._meta.db_table, "distributed by tenant_id") for model in DISTRIBUTED_BY_TENANT]
        + [(model._meta.db_table, "distributed by id") for model in DISTRIBUTED_BY_ID]
        + [(model._meta.db_table, "reference") for model in REFERENCE]
    )
    anchor = DISTRIBUTED_BY_TENANT[0]._meta.db_table
    steps = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM citus_get_active_worker_nodes()")
        if cursor.fetchone()[0] == 0:
            raise CitusError(NO_WORKERS)
        # DDL on reference tables and distributed tables in one transaction.
        cursor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")
        if shard_count is not None:
            cursor.execute("SELECT set_config('citus.shard_count', %s, true)", [str(shard_count)])
        known = _citus_tables(cursor)
        todo = [(table, how) for table, how in plan if table not in known]
        keys = _foreign_keys_touching(cursor, [table for table, _ in todo]) if todo else []
        for table, name, _ in keys:
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for table, how in plan:
            if table in known:
                steps.append(Step(table, how, done_before=True))
                continue
            if how == "distributed by tenant_id":
                colocate = "default" if table == anchor else anchor
                cursor.execute(
                    "SELECT create_distributed_table(%s, %s, colocate_with => %s)",
                    [table, TENANT_COLUMN, colocate],
                )
            elif how == "distributed by id":
                cursor.execute("SELECT create_distributed_table(%s, 'id', colocate_with => 'none')", [table])
            else:
                cursor.execute("SELECT create_reference_table(%s)", [table])
            cursor.execute("SELECT truncate_local_data_after_distributing_table(%s)", [table])
            steps.append(Step(table, how, done_before=False))
        for table, name, definition in keys:
            cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        # The portal's writes that span shards are rare and never hot (deleting a tenant, whose pools'
        # records are found by pool; the purge of a day shared by tenants), but run in parallel they
        # forbid touching a reference table later in the same transaction (Tenant.delete() deletes
        # records, then pools and the tenant). One connection per node keeps them legal, for every
        # session of this database.
        cursor.execute("SELECT current_database()")
        database = connection.ops.quote_name(cursor.fetchone()[0])
        cursor.execute(f"ALTER DATABASE {database} SET citus.multi_shard_modify_mode TO 'sequential'")
    return steps


def placement(cursor) -> list[tuple[str, str, str, int]]:
    """(table, type, distribution column, shard count) of every table Citus knows."""
    cursor.execute(
        "SELECT table_name::text, citus_table_type, distribution_column, shard_count FROM citus_tables ORDER BY 1"
    )
    return cursor.fetchall()

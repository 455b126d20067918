"""What `distribute_on_citus` made (scripts/citus-rehearsal runs it before these tests): every table a
tenant owns distributed by tenant_id in one co-location group, census by its id in a group of its
own, the topology as reference tables, the rest on the coordinator; day partitions made later are
distributed beside their parent; a second run changes nothing."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.db import connection

from telemetry.citus import DISTRIBUTED_BY_ID, DISTRIBUTED_BY_TENANT, REFERENCE
from telemetry.models import UsageRecord
from telemetry.partitions import ensure_day_partitions, is_citus, partition_name


def citus_tables() -> dict[str, tuple[str, str, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name::text, citus_table_type, distribution_column, colocation_id FROM citus_tables"
        )
        return {name: (kind, column, colocation) for name, kind, column, colocation in cursor.fetchall()}


@pytest.mark.django_db
def test_tenant_owned_tables_are_distributed_by_tenant_and_co_located():
    tables = citus_tables()
    owned = [model._meta.db_table for model in DISTRIBUTED_BY_TENANT]
    assert {table: tables[table][:2] for table in owned} == {table: ("distributed", "tenant_id") for table in owned}
    assert len({tables[table][2] for table in owned}) == 1  # one co-location group: one batch, one node


@pytest.mark.django_db
def test_census_is_distributed_by_its_own_id_apart_from_every_tenant():
    tables = citus_tables()
    census = DISTRIBUTED_BY_ID[0]._meta.db_table
    assert tables[census][:2] == ("distributed", "id")
    assert tables[census][2] != tables[UsageRecord._meta.db_table][2]


@pytest.mark.django_db
def test_the_topology_is_made_of_reference_tables_and_the_rest_stays_on_the_coordinator():
    tables = citus_tables()
    assert {model._meta.db_table: tables[model._meta.db_table][0] for model in REFERENCE} == {
        model._meta.db_table: "reference" for model in REFERENCE
    }
    for local in (
        "auth_user",
        "django_session",
        "tenants_auditlogentry",
        "tenants_portalrole",
        "telemetry_stagedcensusrecord",
        "telemetry_censusdailysum",
    ):
        assert tables.get(local, ("local",))[0] == "local", local


@pytest.mark.django_db
def test_a_day_partition_made_later_is_distributed_beside_its_parent():
    assert is_citus()
    day = dt.date(2031, 5, 17)  # far from any day a test writes
    ensure_day_partitions({day}, tables=[UsageRecord._meta.db_table])
    tables = citus_tables()
    partition = partition_name(UsageRecord._meta.db_table, day)
    assert tables[partition] == tables[UsageRecord._meta.db_table]


@pytest.mark.django_db
def test_distributing_again_changes_nothing():
    out = io.StringIO()
    call_command("distribute_on_citus", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == len(DISTRIBUTED_BY_TENANT) + len(DISTRIBUTED_BY_ID) + len(REFERENCE)
    assert all(line.endswith("(already)") for line in lines), lines

"""`distribute_on_citus` where there is no Citus (SQLite, plain PostgreSQL): one line that says what is
missing, a non-zero exit, nothing changed. On a Citus coordinator, tests/citus checks what it does."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from telemetry.citus import DISTRIBUTED_BY_TENANT, LOCAL_ON_COORDINATOR, NOT_CITUS, REFERENCE, has_citus
from telemetry.management.commands.distribute_on_citus import SHARD_COUNT_INVALID
from telemetry.models import UsageRecord
from tenants.models import is_tenant_scoped


def primary_key_of_usage() -> str:
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            return str([row[1] for row in cursor.execute('PRAGMA table_info("telemetry_usagerecord")') if row[5]])
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'p' AND conrelid = %s::regclass",
            [UsageRecord._meta.db_table],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_without_citus_it_says_so_and_changes_nothing(contoso):
    assert not has_citus()
    before = primary_key_of_usage()
    with pytest.raises(CommandError) as failure:
        call_command("distribute_on_citus", stdout=io.StringIO())
    assert str(failure.value) == NOT_CITUS
    assert primary_key_of_usage() == before


@pytest.mark.django_db
@pytest.mark.parametrize("count", ["0", "64001", "-3"])
def test_a_shard_count_out_of_bounds_is_refused_before_anything(count):
    with pytest.raises(CommandError) as failure:
        call_command("distribute_on_citus", "--shard-count", count, stdout=io.StringIO())
    assert str(failure.value) == SHARD_COUNT_INVALID


def test_every_tenant_owned_table_has_a_tenant_column():
    """What the command distributes by tenant_id must have one (a new tenant table added to the list
    without it would fail only on Citus)."""
    for model in DISTRIBUTED_BY_TENANT:
        assert model._meta.get_field("tenant").column == "tenant_id", model


def test_every_tenant_scoped_model_has_its_place_on_citus():
    """A new table of a tenant's rows must be placed (distributed, reference or kept local) on purpose."""
    placed = {*DISTRIBUTED_BY_TENANT, *REFERENCE, *LOCAL_ON_COORDINATOR}
    scoped = {model for model in apps.get_models() if is_tenant_scoped(model)}
    assert scoped - placed == set()

"""The hot paths route to one node: every statement that ingestion, the dashboard and a tenant admin's
pages send to the workers for a tenant's tables names only that tenant's shard of each table.

Read from Citus itself: with `citus.log_remote_commands` on, the coordinator reports each command it
sends to a worker as a notice, which names the shard it runs on (`telemetry_usagerecord_102008`). A
query without the tenant would name every shard of its table."""

import re
from contextlib import contextmanager

import pytest
from django.db import connection
from django.urls import reverse

from telemetry.models import UsageRecord
from tenants import services
from tests.telemetry.client_api import post_batch
from tests.telemetry.factories import census, error, usage

SHARD_SUFFIX = re.compile(r"_(\d{4,})\b")


@contextmanager
def remote_commands():
    """The commands the coordinator sends to workers while the block runs, on this connection."""
    commands: list[str] = []

    def notice(diagnostic):
        message = diagnostic.message_primary or ""
        if message.startswith("issuing "):
            commands.append(message.removeprefix("issuing "))

    connection.ensure_connection()
    raw = connection.connection
    raw.add_notice_handler(notice)
    with connection.cursor() as cursor:
        cursor.execute("SET citus.log_remote_commands TO on")
    try:
        yield commands
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET citus.log_remote_commands")
        raw.remove_notice_handler(notice)


def tenant_shards_named(commands: list[str]) -> dict[int, tuple[str, int]]:
    """The shards of the tenant-distributed tables (and their day partitions) that `commands` name, as
    shard id: (table, the shard id of that table where tenant N's rows live) for N in the query."""
    named = {int(number) for command in commands for number in SHARD_SUFFIX.findall(command)}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.shardid, s.logicalrelid::regclass::text FROM pg_dist_shard s "
            "JOIN pg_dist_partition p USING (logicalrelid) "
            "WHERE s.shardid = ANY(%s) AND p.partmethod = 'h' AND p.colocationid = "
            "(SELECT colocationid FROM pg_dist_partition WHERE logicalrelid = %s::regclass)",
            [list(named), UsageRecord._meta.db_table],
        )
        return dict(cursor.fetchall())


def shards_of_other_tenants(commands: list[str], tenant) -> list[str]:
    """The shards named in `commands` that do not hold `tenant`'s rows (an empty list when routed)."""
    shards = tenant_shards_named(commands)
    wrong = []
    with connection.cursor() as cursor:
        for shard, table in sorted(shards.items()):
            cursor.execute("SELECT get_shard_id_for_distribution_column(%s, %s)", [table, tenant.pk])
            if cursor.fetchone()[0] != shard:
                wrong.append(f"{table} shard {shard}")
    return wrong


@pytest.fixture
def opted_in_contoso(contoso, contoso_pool, fabrikam, fabrikam_pool):
    # Both tenants hold rows, so a query without the tenant would have another shard to read.
    for tenant in (contoso, fabrikam):
        services.end_user_set_error_reporting(tenant=tenant, user_id="amosmarble", opted_in=True)
    return contoso


@pytest.mark.django_db
def test_a_batch_is_claimed_stored_and_counted_on_its_tenant_s_shard_alone(client, opted_in_contoso, contoso_key):
    with remote_commands() as commands:
        response = post_batch(client, contoso_key, [usage(), error(), census(), usage(), error()])
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 5
    assert len(tenant_shards_named(commands)) >= 4  # receipts, usage, errors, counts: what was routed
    assert shards_of_other_tenants(commands, opted_in_contoso) == []


@pytest.mark.django_db
def test_an_opt_in_is_read_and_written_on_its_tenant_s_shard_alone(opted_in_contoso):
    with remote_commands() as commands:
        services.end_user_set_error_reporting(tenant=opted_in_contoso, user_id="amosmarble", opted_in=False)
        services.end_user_set_error_reporting(tenant=opted_in_contoso, user_id="nerissa", opted_in=True)
    assert tenant_shards_named(commands)
    assert shards_of_other_tenants(commands, opted_in_contoso) == []


@pytest.mark.django_db
def test_a_tenant_admin_s_dashboard_and_pages_read_their_tenant_s_shard_alone(
    client, opted_in_contoso, contoso_key, hamlet
):
    post_batch(client, contoso_key, [usage(), error()])
    client.force_login(hamlet)
    pages = [
        reverse("dashboard"),
        reverse("dashboard_export"),
        reverse("admin:tenants_enduser_changelist"),
        reverse("admin:tenants_ingestionkey_changelist"),
        reverse("admin:tenants_auditlogentry_changelist"),
        reverse("portal_counts"),
        reverse("admin:tenants_tenant_change", args=[opted_in_contoso.pk]),
        reverse("admin:index"),
    ]
    for page in pages:
        with remote_commands() as commands:
            response = client.get(page)
        assert response.status_code == 200, page
        assert shards_of_other_tenants(commands, opted_in_contoso) == [], page
        if page == reverse("dashboard"):
            assert tenant_shards_named(commands), "the dashboard read no shard: nothing was checked"


@pytest.mark.django_db
def test_the_check_sees_a_query_without_the_tenant(client, opted_in_contoso, contoso_key, fabrikam_key):
    """The checks above would pass on a log that names nothing: a query without the tenant names
    the shards of both tenants (each tenant's rows sit on the shard of its own id)."""
    post_batch(client, contoso_key, [usage()])
    with remote_commands() as commands:
        assert UsageRecord.objects.all_tenants().count() == 1
    assert len(tenant_shards_named(commands)) > 1
    assert shards_of_other_tenants(commands, opted_in_contoso) != []

"""Migration tenants/0007 adds "site names unique ignoring case": a database that already holds `Oslo`
and `oslo` in one tenant migrates, the later site renamed, nothing lost."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("tenants", "0006_retention_and_erasure_settings")]
AFTER = [("tenants", "0007_site_names_unique_ignoring_case_and_key_last_used")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_sites_differing_only_by_case_are_renamed_so_the_constraint_can_be_added():
    old = migrate(BEFORE)
    Tenant, Site, Pool = (old.get_model("tenants", name) for name in ("Tenant", "Site", "Pool"))
    contoso = Tenant.objects.create(slug="contoso", name="Contoso")
    fabrikam = Tenant.objects.create(slug="fabrikam", name="Fabrikam")
    first = Site.objects.create(tenant=contoso, name="Oslo")
    second = Site.objects.create(tenant=contoso, name="oslo")
    third = Site.objects.create(tenant=contoso, name="OSLO")
    elsewhere = Site.objects.create(tenant=fabrikam, name="oslo")
    Pool.objects.create(tenant=contoso, fqdn="pool01.contoso.com", site=second)
    try:
        new = migrate(AFTER)
        Site = new.get_model("tenants", "Site")
        names = dict(Site.objects.values_list("pk", "name"))
        assert names[first.pk] == "Oslo"
        assert names[second.pk] == "oslo (2)"
        assert names[third.pk] == "OSLO (3)"
        assert names[elsewhere.pk] == "oslo"  # another tenant's site is no duplicate
        pool = new.get_model("tenants", "Pool").objects.get(fqdn="pool01.contoso.com")
        assert pool.site_id == second.pk
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

"""Reads through the real database: the effective MeetingUxEnableTelemetry per pool, end-user lookup."""

import pytest

from tenants import selectors, services
from tenants.models import WebServiceConfiguration
from tests.conftest import COMMAND_ACTOR


@pytest.fixture
def topology(contoso_pool):
    """contoso: site Redmond with pool01 and pool02, pool03 without a site."""
    contoso = contoso_pool.tenant
    services.pool_create(tenant=contoso, fqdn="pool02.contoso.com", site=contoso_pool.site, actor=COMMAND_ACTOR)
    services.pool_create(tenant=contoso, fqdn="pool03.contoso.com", actor=COMMAND_ACTOR)
    return contoso


def configure(tenant, identity: str, value: bool) -> None:
    scope = services.scope_parse(tenant=tenant, identity=identity)
    services.web_service_configuration_set(
        tenant=tenant, scope=scope, meeting_ux_enable_telemetry=value, actor=COMMAND_ACTOR
    )


def effective(tenant) -> dict[str, tuple[bool, str]]:
    return {
        pool.fqdn: (setting.enabled, setting.identity)
        for pool, setting in selectors.pools_with_effective_meeting_ux(tenant=tenant)
    }


def test_the_global_default_configuration_decides_for_every_pool(topology):
    assert effective(topology) == {
        "pool01.contoso.com": (False, "Global"),
        "pool02.contoso.com": (False, "Global"),
        "pool03.contoso.com": (False, "Global"),
    }


def test_without_any_configuration_the_default_false_holds(topology):
    WebServiceConfiguration.objects.filter(tenant=topology).delete()
    assert set(effective(topology).values()) == {(False, "default")}


def test_service_beats_site_beats_global(topology):
    configure(topology, "Global", True)
    configure(topology, "Site:Redmond", False)
    configure(topology, "Service:WebServer:pool01.contoso.com", True)
    assert effective(topology) == {
        "pool01.contoso.com": (True, "Service:WebServer:pool01.contoso.com"),
        "pool02.contoso.com": (False, "Site:Redmond"),
        "pool03.contoso.com": (True, "Global"),
    }


def test_a_service_configuration_decides_even_when_false_under_a_true_site(topology):
    configure(topology, "Site:Redmond", True)
    configure(topology, "Service:WebServer:pool02.contoso.com", False)
    assert effective(topology)["pool01.contoso.com"] == (True, "Site:Redmond")
    assert effective(topology)["pool02.contoso.com"] == (False, "Service:WebServer:pool02.contoso.com")


def test_removing_a_scope_falls_back_to_the_next(topology):
    configure(topology, "Site:Redmond", True)
    scope = services.scope_parse(tenant=topology, identity="Site:Redmond")
    services.web_service_configuration_remove(tenant=topology, scope=scope, actor=COMMAND_ACTOR)
    assert effective(topology)["pool01.contoso.com"] == (False, "Global")


def test_another_tenants_configurations_do_not_leak(topology, fabrikam_pool):
    fabrikam = fabrikam_pool.tenant
    configure(fabrikam, "Global", True)
    fabrikam_site = services.site_create(tenant=fabrikam, name="Redmond", actor=COMMAND_ACTOR)
    configure(fabrikam, "Site:Redmond", True)
    assert fabrikam_site.tenant == fabrikam
    assert set(effective(topology).values()) == {(False, "Global")}
    assert effective(fabrikam) == {"pool01.fabrikam.com": (True, "Global")}


def test_effective_settings_take_two_queries_however_many_pools(topology, django_assert_max_num_queries):
    configure(topology, "Site:Redmond", True)
    with django_assert_max_num_queries(2):
        pools = selectors.pools_with_effective_meeting_ux(tenant=topology)
    assert len(pools) == 3


def test_configurations_are_ordered_global_sites_services(topology):
    services.site_create(tenant=topology, name="Amsterdam", actor=COMMAND_ACTOR)
    configure(topology, "Service:WebServer:pool03.contoso.com", True)
    configure(topology, "Site:Redmond", True)
    configure(topology, "Service:WebServer:pool01.contoso.com", True)
    configure(topology, "Site:Amsterdam", True)
    identities = [row.identity for row in selectors.web_service_configurations_ordered(tenant=topology)]
    assert identities == [
        "Global",
        "Site:Amsterdam",
        "Site:Redmond",
        "Service:WebServer:pool01.contoso.com",
        "Service:WebServer:pool03.contoso.com",
    ]


def test_end_user_find_by_typed_id(contoso, fabrikam):
    amos = services.end_user_set_error_reporting(tenant=contoso, user_id="Amos.Marble@contoso.com", opted_in=True)
    assert selectors.end_user_find(tenant=contoso, user_id=" amos.marble@CONTOSO.com ") == amos
    assert selectors.end_user_find(tenant=contoso, user_id="amos.marble@fabrikam.com") is None
    # The same typed ID in another tenant finds nothing there.
    assert selectors.end_user_find(tenant=fabrikam, user_id="Amos.Marble@contoso.com") is None


def test_tenant_get_by_slug(contoso, fabrikam):
    assert selectors.tenant_get_by_slug(slug="fabrikam") == fabrikam
    assert selectors.tenant_get_by_slug(slug="Fabrikam") is None
    assert selectors.tenant_get_by_slug(slug="northwind") is None

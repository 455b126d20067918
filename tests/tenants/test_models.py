"""Database constraints: what the database refuses even when a service is bypassed."""

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from tenants.models import AuditLogEntry, IngestionKey, Pool, PortalRole, Site, Tenant, WebServiceConfiguration

Scope = WebServiceConfiguration.Scope


def refused(**fields):
    """Create a row in its own savepoint and expect the database to refuse it."""
    model = fields.pop("model")
    with pytest.raises(IntegrityError), transaction.atomic():
        model.objects.create(**fields)


def test_one_global_configuration_per_tenant(contoso, fabrikam):
    refused(model=WebServiceConfiguration, tenant=contoso, scope=Scope.GLOBAL)
    assert WebServiceConfiguration.objects.filter(scope=Scope.GLOBAL).count() == 2  # one each


def test_one_configuration_per_site(contoso_site):
    WebServiceConfiguration.objects.create(tenant=contoso_site.tenant, scope=Scope.SITE, site=contoso_site)
    refused(model=WebServiceConfiguration, tenant=contoso_site.tenant, scope=Scope.SITE, site=contoso_site)


def test_one_configuration_per_pool(contoso_pool):
    WebServiceConfiguration.objects.create(tenant=contoso_pool.tenant, scope=Scope.SERVICE, pool=contoso_pool)
    refused(model=WebServiceConfiguration, tenant=contoso_pool.tenant, scope=Scope.SERVICE, pool=contoso_pool)


@pytest.mark.parametrize(
    ("scope", "with_site", "with_pool"),
    [
        (Scope.GLOBAL, True, False),
        (Scope.GLOBAL, False, True),
        (Scope.SITE, False, False),
        (Scope.SITE, True, True),
        (Scope.SERVICE, False, False),
        (Scope.SERVICE, True, False),
        ("pool", False, True),
    ],
)
def test_scope_must_match_its_target(contoso_pool, scope, with_site, with_pool):
    refused(
        model=WebServiceConfiguration,
        tenant=contoso_pool.tenant,
        scope=scope,
        site=contoso_pool.site if with_site else None,
        pool=contoso_pool if with_pool else None,
    )


def test_pool_fqdn_is_unique_per_tenant_only(contoso_pool, fabrikam):
    refused(model=Pool, tenant=contoso_pool.tenant, fqdn="pool01.contoso.com")
    Pool.objects.create(tenant=fabrikam, fqdn="pool01.contoso.com")  # another tenant may use it


def test_site_name_is_unique_per_tenant_only(contoso_site, fabrikam):
    refused(model=Site, tenant=contoso_site.tenant, name="Redmond")
    Site.objects.create(tenant=fabrikam, name="Redmond")


def test_tenant_slug_and_key_prefix_are_unique(contoso, fabrikam):
    refused(model=Tenant, slug="contoso", name="Other", domain="other.com")
    IngestionKey.objects.create(tenant=contoso, prefix="tpk_AAAAAAAA", key_hash="a" * 64)
    refused(model=IngestionKey, tenant=fabrikam, prefix="tpk_AAAAAAAA", key_hash="b" * 64)
    refused(model=IngestionKey, tenant=fabrikam, prefix="tpk_BBBBBBBB", key_hash="a" * 64)


@pytest.mark.parametrize(
    ("role", "with_tenant"),
    [(PortalRole.Role.TENANT_ADMIN, False), (PortalRole.Role.SUPPORT, True), ("owner", True), ("owner", False)],
)
def test_portal_role_must_match_its_tenant(contoso, role, with_tenant):
    user = get_user_model().objects.create_user(username="ophelia")
    refused(model=PortalRole, user=user, role=role, tenant=contoso if with_tenant else None)


def test_valid_portal_roles_are_accepted(contoso):
    users = get_user_model().objects
    PortalRole.objects.create(user=users.create_user(username="a"), role=PortalRole.Role.TENANT_ADMIN, tenant=contoso)
    PortalRole.objects.create(user=users.create_user(username="b"), role=PortalRole.Role.SUPPORT, tenant=None)
    assert PortalRole.objects.all_tenants().count() == 2


def test_model_strings(contoso_pool):
    configuration = WebServiceConfiguration.objects.create(
        tenant=contoso_pool.tenant, scope=Scope.SERVICE, pool=contoso_pool
    )
    assert str(configuration) == "Service:WebServer:pool01.contoso.com"
    assert str(contoso_pool.site) == "Redmond"
    assert str(contoso_pool.tenant) == "Contoso"


@pytest.mark.parametrize(
    ("action", "target", "new_value", "summary"),
    [
        ("set_client_policy", "ClientPolicy", True, "Usage data collection turned off"),
        ("set_client_policy", "ClientPolicy", False, "Usage data collection turned on"),
        ("set_watson", "WindowsErrorReporting", False, "Windows crash uploads turned off"),
        (
            "create_web_service_configuration",
            "Site:Redmond",
            True,
            "Meetings App telemetry turned on at Site:Redmond",
        ),
        ("set_web_service_configuration", "Global", False, "Meetings App telemetry turned off at Global"),
        ("remove_web_service_configuration", "Site:Redmond", None, "Meetings App setting at Site:Redmond removed"),
        (
            "create_pool",
            "Service:WebServer:pool01.contoso.com",
            "pool01.contoso.com",
            "Pool added: Service:WebServer:pool01.contoso.com",
        ),
        ("revoke_ingestion_key", "tpk_AbCdEfGh…", "revoked", "Ingestion key revoked: tpk_AbCdEfGh…"),
    ],
)
def test_an_audit_entry_reads_as_plain_words_never_the_double_negative(action, target, new_value, summary):
    entry = AuditLogEntry(actor="hamlet", action=action, target=target, new_value=new_value)
    assert entry.summary == summary
    assert "DisableAutomaticSendTracing" not in entry.summary

"""Policies on the tenant's page, changed through services, with a confirmation before collection stops."""

from django.urls import reverse

from tenants.admin_base import CONFIRM_STOP_FIELD
from tenants.models import AuditLogEntry, Pool, Site, Tenant, WebServiceConfiguration


def tenant_url(tenant):
    return reverse("admin:tenants_tenant_change", args=[tenant.pk])


def audit_of(tenant, action):
    return list(AuditLogEntry.objects.all_tenants().filter(tenant=tenant, action=action))


def test_a_tenant_admins_index_leads_to_the_policies_of_their_tenant(client, hamlet, contoso):
    client.force_login(hamlet)
    response = client.get(reverse("admin:index"))
    assert f'href="{tenant_url(contoso)}"' in response.content.decode()


def test_the_tenant_page_shows_policies_as_people_think_of_them(client, hamlet, contoso_world):
    client.force_login(hamlet)
    body = client.get(tenant_url(contoso_world.tenant)).content.decode()
    assert "Usage data collection" in body
    assert "stops usage data AND error reporting for every user" in body
    assert 'name="usage_collection_enabled"' in body
    assert "Disable automatic send tracing" not in body
    assert "Always on" in body
    assert 'name="watson_uploads_enabled"' in body
    # The effective Meetings App value of each pool and the scope that decided it.
    assert "pool01.contoso.com" in body
    assert "Service:WebServer:pool01.contoso.com" in body


def test_the_effective_table_names_the_deciding_scope(client, hamlet, contoso_world):
    client.force_login(hamlet)
    client.post(
        reverse("admin:tenants_webserviceconfiguration_delete", args=[contoso_world.pool_configuration.pk]),
        {"post": "yes"},
    )
    response = client.get(tenant_url(contoso_world.tenant))
    rows = response.context["meeting_ux_pools"]
    assert rows == [{"fqdn": "pool01.contoso.com", "site": "Redmond", "value": "On", "decided_by": "Site:Redmond"}]


def test_turning_usage_collection_off_asks_first_and_changes_nothing_until_confirmed(client, hamlet, contoso):
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "False", "watson_uploads_enabled": "True", "_save": "Save"}
    response = client.post(tenant_url(contoso), data)
    assert response.status_code == 200
    assert "Usage data and error reports stop for every user" in response.content.decode()
    assert f'name="{CONFIRM_STOP_FIELD}"' in response.content.decode()
    contoso.refresh_from_db()
    assert contoso.disable_automatic_send_tracing is False
    assert audit_of(contoso, "set_client_policy") == []

    confirmed = client.post(tenant_url(contoso), {**data, CONFIRM_STOP_FIELD: "yes"})
    assert confirmed.status_code == 302
    contoso.refresh_from_db()
    assert contoso.disable_automatic_send_tracing is True
    [entry] = audit_of(contoso, "set_client_policy")
    assert (entry.actor, entry.actor_user, entry.old_value, entry.new_value) == ("hamlet", hamlet, False, True)


def test_turning_collection_on_needs_no_confirmation(client, hamlet, contoso):
    contoso.disable_automatic_send_tracing = True
    contoso.watson_enabled = False
    contoso.save()
    client.force_login(hamlet)
    response = client.post(tenant_url(contoso), {"usage_collection_enabled": "True", "watson_uploads_enabled": "True"})
    assert response.status_code == 302
    contoso.refresh_from_db()
    assert (contoso.disable_automatic_send_tracing, contoso.watson_enabled) == (False, True)
    assert audit_of(contoso, "set_watson")[0].actor == "hamlet"


def test_turning_watson_off_asks_first(client, hamlet, contoso):
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "True", "watson_uploads_enabled": "False"}
    asked = client.post(tenant_url(contoso), data)
    assert "Windows crash uploads from the Meetings App stop" in asked.content.decode()
    assert Tenant.objects.get(pk=contoso.pk).watson_enabled is True
    client.post(tenant_url(contoso), {**data, CONFIRM_STOP_FIELD: "yes"})
    assert Tenant.objects.get(pk=contoso.pk).watson_enabled is False
    assert audit_of(contoso, "set_watson")[0].actor_user == hamlet


def test_turning_meeting_ux_off_at_a_scope_asks_first(client, hamlet, contoso_world):
    client.force_login(hamlet)
    url = reverse("admin:tenants_webserviceconfiguration_change", args=[contoso_world.pool_configuration.pk])
    asked = client.post(url, {"meeting_ux": "False"})
    assert "Meetings App telemetry stops for meetings hosted on pool01.contoso.com" in asked.content.decode()
    contoso_world.pool_configuration.refresh_from_db()
    assert contoso_world.pool_configuration.meeting_ux_enable_telemetry is True

    client.post(url, {"meeting_ux": "False", CONFIRM_STOP_FIELD: "yes"})
    contoso_world.pool_configuration.refresh_from_db()
    assert contoso_world.pool_configuration.meeting_ux_enable_telemetry is False
    [entry] = audit_of(contoso_world.tenant, "set_web_service_configuration")
    assert (entry.actor, entry.target, entry.new_value) == ("hamlet", "Service:WebServer:pool01.contoso.com", False)


def test_adding_a_pool_scope_that_overrides_a_site_with_off_asks_first(client, hamlet, contoso, contoso_pool):
    client.force_login(hamlet)
    site_data = {"scope_kind": "site", "scope_site": contoso_pool.site.pk, "meeting_ux": "True"}
    assert client.post(reverse("admin:tenants_webserviceconfiguration_add"), site_data).status_code == 302
    pool_data = {"scope_kind": "service", "scope_pool": contoso_pool.pk, "meeting_ux": "False"}
    asked = client.post(reverse("admin:tenants_webserviceconfiguration_add"), pool_data)
    assert asked.status_code == 200
    assert "stops for meetings hosted on pool01.contoso.com" in asked.content.decode()
    assert not WebServiceConfiguration.objects.filter(pool=contoso_pool).exists()
    client.post(reverse("admin:tenants_webserviceconfiguration_add"), {**pool_data, CONFIRM_STOP_FIELD: "yes"})
    configuration = WebServiceConfiguration.objects.get(pool=contoso_pool)
    assert configuration.tenant == contoso
    assert configuration.meeting_ux_enable_telemetry is False
    assert [e.actor for e in audit_of(contoso, "create_web_service_configuration")] == ["hamlet", "hamlet"]


def test_removing_an_on_configuration_says_what_stops_and_is_audited(client, hamlet, contoso_world):
    client.force_login(hamlet)
    # With the pool's own configuration gone, the site's (On) decides: nothing stops.
    contoso_world.site_configuration.meeting_ux_enable_telemetry = False
    contoso_world.site_configuration.save()
    url = reverse("admin:tenants_webserviceconfiguration_delete", args=[contoso_world.pool_configuration.pk])
    page = client.get(url)
    assert "Meetings App telemetry stops for meetings hosted on pool01.contoso.com" in page.content.decode()
    assert WebServiceConfiguration.objects.filter(pk=contoso_world.pool_configuration.pk).exists()
    client.post(url, {"post": "yes"})
    assert not WebServiceConfiguration.objects.filter(pk=contoso_world.pool_configuration.pk).exists()
    [entry] = audit_of(contoso_world.tenant, "remove_web_service_configuration")
    assert (entry.actor, entry.old_value) == ("hamlet", True)


def test_the_global_configuration_cannot_be_removed(client, hamlet, contoso_world):
    client.force_login(hamlet)
    url = reverse("admin:tenants_webserviceconfiguration_delete", args=[contoso_world.global_configuration.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert WebServiceConfiguration.objects.filter(pk=contoso_world.global_configuration.pk).exists()


def test_a_tenant_admin_adds_sites_and_pools_to_their_own_tenant_through_services(client, hamlet, contoso):
    client.force_login(hamlet)
    assert client.post(reverse("admin:tenants_site_add"), {"name": "Dublin"}).status_code == 302
    site = Site.objects.get(name="Dublin")
    assert site.tenant == contoso
    response = client.post(reverse("admin:tenants_pool_add"), {"fqdn": "Pool09.Contoso.com.", "site": site.pk})
    assert response.status_code == 302
    pool = Pool.objects.get(fqdn="pool09.contoso.com")
    assert (pool.tenant, pool.site) == (contoso, site)
    assert audit_of(contoso, "create_site")[0].actor == "hamlet"
    assert audit_of(contoso, "create_pool")[0].actor == "hamlet"


def test_a_superuser_chooses_the_tenant_of_a_new_site(client, prospero, contoso, fabrikam):
    client.force_login(prospero)
    assert client.post(reverse("admin:tenants_site_add"), {"tenant": fabrikam.pk, "name": "Porto"}).status_code == 302
    assert Site.objects.get(name="Porto").tenant == fabrikam
    assert audit_of(fabrikam, "create_site")[0].actor == "prospero"

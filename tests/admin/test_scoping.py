"""A contoso admin (hamlet) walks every admin URL with fabrikam's object IDs: each is a 404, and no
page shows anything of fabrikam."""

import pytest
from django.contrib import admin
from django.urls import reverse

from telemetry.models import ErrorReport, UsageRecord
from tenants.admin_base import PortalModelAdmin
from tenants.models import AuditLogEntry, EndUser, IngestionKey, Pool, Site, Tenant, WebServiceConfiguration
from tests.admin.conftest import fabrikam_markers

OBJECT_VIEWS = ("change", "history", "delete")


def objects_of(world):
    """One object of the world's tenant for every tenant-owned model the admin registers."""
    return {
        Tenant: [world.tenant],
        Site: [world.site],
        Pool: [world.pool],
        WebServiceConfiguration: [world.global_configuration, world.site_configuration, world.pool_configuration],
        EndUser: [world.end_user],
        IngestionKey: [world.key],
        AuditLogEntry: [AuditLogEntry.objects.all_tenants().filter(tenant=world.tenant).first()],
        ErrorReport: [world.error_report],
        UsageRecord: [world.usage_record],
    }


def object_urls(world):
    urls = []
    for model, objects in objects_of(world).items():
        for obj in objects:
            for view in OBJECT_VIEWS:
                urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=[obj.pk]))
    urls.append(reverse("admin:tenants_ingestionkey_revoke", args=[world.key.pk]))
    return urls


def tenant_id_of(row):
    return row.pk if isinstance(row, Tenant) else row.tenant_id


def assert_no_fabrikam(response, world):
    body = response.content.decode()
    for marker in fabrikam_markers(world):
        assert marker not in body, f"{marker!r} leaked into {response.request['PATH_INFO']}"


def test_every_tenant_owned_admin_is_walked(contoso_world, fabrikam_world):
    walked = set(objects_of(fabrikam_world))
    registered = {model for model in admin.site._registry if any(f.name == "tenant" for f in model._meta.fields)}
    registered.add(Tenant)
    assert registered <= walked


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_tenants_object_is_a_404_on_every_object_url(client, hamlet, contoso_world, fabrikam_world, method):
    client.force_login(hamlet)
    for contoso_url, fabrikam_url in zip(object_urls(contoso_world), object_urls(fabrikam_world), strict=True):
        # The same page of hamlet's own tenant exists (200, or 403 where his role may not), so the
        # 404 below is the scoping, not a broken page.
        own = getattr(client, method)(contoso_url, {"confirm": "yes", "post": "yes"})
        assert own.status_code != 404, contoso_url
        response = getattr(client, method)(fabrikam_url, {"confirm": "yes", "post": "yes"})
        assert response.status_code == 404, fabrikam_url
        assert_no_fabrikam(response, fabrikam_world)
    fabrikam_world.key.refresh_from_db()
    assert fabrikam_world.key.revoked_at is None
    assert WebServiceConfiguration.objects.filter(tenant=fabrikam_world.tenant).count() == 3


def test_a_missing_object_looks_exactly_like_another_tenants(client, hamlet, contoso_world, fabrikam_world):
    client.force_login(hamlet)
    missing = client.get(reverse("admin:tenants_pool_change", args=[999_999]))
    foreign = client.get(reverse("admin:tenants_pool_change", args=[fabrikam_world.pool.pk]))
    assert missing.status_code == foreign.status_code == 404
    assert missing.content == foreign.content


def test_changelists_and_add_pages_show_nothing_of_another_tenant(client, hamlet, contoso_world, fabrikam_world):
    client.force_login(hamlet)
    seen_pages = 0
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        if model is Tenant:
            # Not a list: the tenant admin is sent to their own organization's page, whatever they search.
            own = reverse("admin:tenants_tenant_change", args=[contoso_world.tenant.pk])
            assert changelist["Location"] == own
            searched = client.get(reverse("admin:tenants_tenant_changelist"), {"q": "fabrikam"}, follow=True)
            assert searched.redirect_chain == [(own, 302)]
            assert_no_fabrikam(searched, fabrikam_world)
            continue
        if not isinstance(model_admin, PortalModelAdmin) or not model_admin.tenant_admin_may_view:
            # Raw records, sign-ins and lockouts are not a tenant admin's to see.
            assert changelist.status_code == 403, opts.label
            continue
        assert changelist.status_code == 200, opts.label
        assert_no_fabrikam(changelist, fabrikam_world)
        seen_pages += 1
        for term in fabrikam_markers(fabrikam_world):
            searched = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"), {"q": term})
            rows = list(searched.context["cl"].result_list)
            assert fabrikam_world.tenant.pk not in {tenant_id_of(row) for row in rows}, (opts.label, term)
        add = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert add.status_code in (200, 403), opts.label
        assert_no_fabrikam(add, fabrikam_world)
    assert seen_pages >= 6
    # The lists do hold hamlet's own rows: the pages are not simply empty.
    pools = client.get(reverse("admin:tenants_pool_changelist")).content.decode()
    assert "pool01.contoso.com" in pools
    keys = client.get(reverse("admin:tenants_ingestionkey_changelist")).content.decode()
    assert contoso_world.key.prefix in keys


def test_the_admin_index_and_the_sidebar_show_nothing_of_another_tenant(client, hamlet, contoso_world, fabrikam_world):
    client.force_login(hamlet)
    for url in (reverse("admin:index"), reverse("admin:app_list", args=["tenants"])):
        response = client.get(url)
        assert response.status_code == 200
        assert_no_fabrikam(response, fabrikam_world)


@pytest.mark.parametrize(
    ("model_name", "field_name", "own", "foreign", "foreign_term"),
    [
        ("pool", "site", "Redmond", "Lisbon", "Lis"),
        ("webserviceconfiguration", "pool", "pool01.contoso.com", "pool07.fabrikam.com", "fabrikam"),
        ("site", "tenant", "Contoso", "Fabrikam", "Fab"),
    ],
)
def test_autocomplete_offers_only_the_admins_own_tenant(
    client, hamlet, contoso_world, fabrikam_world, model_name, field_name, own, foreign, foreign_term
):
    client.force_login(hamlet)
    url = reverse("admin:autocomplete")
    query = {"app_label": "tenants", "model_name": model_name, "field_name": field_name}
    everything = client.get(url, {**query, "term": ""})
    assert everything.status_code == 200
    texts = [result["text"] for result in everything.json()["results"]]
    assert own in texts
    assert foreign not in texts
    searched = client.get(url, {**query, "term": foreign_term})
    assert searched.json()["results"] == []


def test_a_foreign_key_of_another_tenant_is_refused_on_add(client, hamlet, contoso_world, fabrikam_world):
    client.force_login(hamlet)
    before = Pool.objects.all_tenants().count()
    response = client.post(
        reverse("admin:tenants_pool_add"), {"fqdn": "pool09.contoso.com", "site": fabrikam_world.site.pk}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert Pool.objects.all_tenants().count() == before


def test_a_configuration_scope_of_another_tenant_is_refused_on_add(client, hamlet, contoso_world, fabrikam_world):
    client.force_login(hamlet)
    before = WebServiceConfiguration.objects.all_tenants().count()
    response = client.post(
        reverse("admin:tenants_webserviceconfiguration_add"),
        {"scope_kind": "site", "scope_site": fabrikam_world.site.pk, "meeting_ux": "True"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert WebServiceConfiguration.objects.all_tenants().count() == before


def test_a_tenant_admin_cannot_act_on_another_tenants_keys_through_an_action(
    client, hamlet, contoso_world, fabrikam_world
):
    client.force_login(hamlet)
    response = client.post(
        reverse("admin:tenants_ingestionkey_changelist"),
        {"action": "revoke_selected", "_selected_action": [fabrikam_world.key.pk], "confirm": "yes"},
    )
    assert response.status_code in (200, 302)
    fabrikam_world.key.refresh_from_db()
    assert fabrikam_world.key.revoked_at is None

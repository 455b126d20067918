"""Roles decide what the admin allows: support staff (iago) view everything and change nothing."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from telemetry.models import CensusRecord, ErrorReport, UsageRecord
from tenants.models import AuditLogEntry, EndUser, IngestionKey, Pool, Site, Tenant, WebServiceConfiguration

MODELS = (Tenant, Site, Pool, WebServiceConfiguration, EndUser, IngestionKey, AuditLogEntry, ErrorReport, UsageRecord)


def snapshot():
    """Every row of every model the admin can write, with its values."""
    return {
        model.__name__: sorted(tuple(sorted(row.items())) for row in model.objects.all().values())
        for model in (*MODELS, CensusRecord)
    }


def write_attempts(world):
    """Every write the admin offers, with data that would succeed for someone allowed to make it."""
    tenant_change = reverse("admin:tenants_tenant_change", args=[world.tenant.pk])
    return [
        (tenant_change, {"usage_collection_enabled": "False", "watson_uploads_enabled": "False"}),
        (
            tenant_change,
            {"usage_collection_enabled": "False", "watson_uploads_enabled": "False", "_confirm_stop_collection": "yes"},
        ),
        (reverse("admin:tenants_tenant_add"), {"slug": "tailspin", "name": "Tailspin", "domain": "tailspin.com"}),
        (reverse("admin:tenants_tenant_delete", args=[world.tenant.pk]), {"post": "yes"}),
        (
            reverse("admin:tenants_webserviceconfiguration_add"),
            {"owner_tenant": world.tenant.pk, "scope_kind": "global", "meeting_ux": "True"},
        ),
        (
            reverse("admin:tenants_webserviceconfiguration_change", args=[world.site_configuration.pk]),
            {"meeting_ux": "False", "_confirm_stop_collection": "yes"},
        ),
        (reverse("admin:tenants_webserviceconfiguration_delete", args=[world.pool_configuration.pk]), {"post": "yes"}),
        (reverse("admin:tenants_site_add"), {"tenant": world.tenant.pk, "name": "Dublin"}),
        (reverse("admin:tenants_site_change", args=[world.site.pk]), {"tenant": world.tenant.pk, "name": "Dublin"}),
        (reverse("admin:tenants_site_delete", args=[world.site.pk]), {"post": "yes"}),
        (reverse("admin:tenants_pool_add"), {"tenant": world.tenant.pk, "fqdn": "pool09.contoso.com"}),
        (reverse("admin:tenants_pool_delete", args=[world.pool.pk]), {"post": "yes"}),
        (reverse("admin:tenants_ingestionkey_add"), {"tenant": world.tenant.pk, "label": "more"}),
        (reverse("admin:tenants_ingestionkey_change", args=[world.key.pk]), {"label": "renamed"}),
        (reverse("admin:tenants_ingestionkey_revoke", args=[world.key.pk]), {"confirm": "yes"}),
        (reverse("admin:tenants_ingestionkey_delete", args=[world.key.pk]), {"post": "yes"}),
        (reverse("admin:tenants_enduser_change", args=[world.end_user.pk]), {"error_reporting_opted_in": ""}),
        (reverse("admin:tenants_enduser_delete", args=[world.end_user.pk]), {"post": "yes"}),
        (reverse("admin:tenants_auditlogentry_delete", args=[AuditLogEntry.objects.first().pk]), {"post": "yes"}),
        (reverse("admin:telemetry_errorreport_delete", args=[world.error_report.pk]), {"post": "yes"}),
        (reverse("admin:telemetry_usagerecord_change", args=[world.usage_record.pk]), {"ims_sent": "9"}),
    ]


def test_support_staff_are_refused_every_write_and_nothing_changes(client, iago, contoso_world, census_record):
    client.force_login(iago)
    before = snapshot()
    for url, data in write_attempts(contoso_world):
        response = client.post(url, data)
        assert response.status_code == 403, url
    assert snapshot() == before


@pytest.mark.parametrize("action", ["revoke_selected", "delete_selected"])
def test_support_staff_have_no_actions(client, iago, contoso_world, action):
    client.force_login(iago)
    before = snapshot()
    changelist = reverse("admin:tenants_ingestionkey_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert page.context["action_form"] is None
    response = client.post(changelist, {"action": action, "_selected_action": [contoso_world.key.pk], "confirm": "yes"})
    assert response.status_code in (200, 302)
    assert snapshot() == before


def test_support_staff_see_policies_as_values_not_as_a_form(client, iago, contoso_world):
    client.force_login(iago)
    response = client.get(reverse("admin:tenants_tenant_change", args=[contoso_world.tenant.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="usage_collection_enabled"' not in body
    assert "Usage data collection" in body
    assert "Always on" in body


def test_support_staff_see_every_tenant_and_the_record_browsers(
    client, iago, contoso_world, fabrikam_world, census_record
):
    client.force_login(iago)
    pools = client.get(reverse("admin:tenants_pool_changelist")).content.decode()
    assert "pool01.contoso.com" in pools
    assert "pool07.fabrikam.com" in pools
    for name in ("errorreport", "usagerecord", "censusrecord"):
        assert client.get(reverse(f"admin:telemetry_{name}_changelist")).status_code == 200


@pytest.mark.parametrize("name", ["errorreport", "usagerecord", "censusrecord"])
def test_tenant_admins_do_not_see_raw_records(client, hamlet, contoso_world, name):
    client.force_login(hamlet)
    assert client.get(reverse(f"admin:telemetry_{name}_changelist")).status_code == 403
    assert name not in client.get(reverse("admin:index")).content.decode()


def test_superusers_may_not_edit_records_either(client, prospero, contoso_world):
    client.force_login(prospero)
    before = snapshot()
    url = reverse("admin:telemetry_errorreport_change", args=[contoso_world.error_report.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"error_code": "X"}).status_code == 403
    assert snapshot() == before


def test_a_staff_user_without_a_portal_role_is_not_let_in(client, db):
    user = get_user_model().objects.create_user(username="rosencrantz", password="x" * 12, is_staff=True)
    client.force_login(user)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_an_inactive_tenant_admin_is_not_let_in(client, hamlet):
    hamlet.is_active = False
    hamlet.save()
    client.force_login(hamlet)
    assert client.get(reverse("admin:index")).status_code == 302


@pytest.mark.parametrize("who", ["iago", "prospero", "hamlet"])
def test_every_page_renders_for_every_role(client, request, who, contoso_world, fabrikam_world, census_record):
    """Changelists, add pages and every object's page answer 200 (or 403 where the role may not)."""
    client.force_login(request.getfixturevalue(who))
    for model in admin.site._registry:
        opts = model._meta
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        changelist = client.get(reverse(f"{prefix}_changelist"))
        if who == "hamlet" and model is Tenant:
            # A tenant admin's list of one tenant is their organization's page.
            assert changelist["Location"] == reverse(f"{prefix}_change", args=[contoso_world.tenant.pk])
        else:
            assert changelist.status_code in (200, 403), opts.label
        assert client.get(reverse(f"{prefix}_add")).status_code in (200, 403), opts.label
        for obj in model._default_manager.all()[:5]:
            status = client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code
            assert status in (200, 403, 404), opts.label
            if who != "hamlet":
                assert status != 404, opts.label


def test_a_superuser_adds_a_configuration_only_with_a_site_of_the_chosen_tenant(
    client, prospero, contoso_world, fabrikam_world
):
    client.force_login(prospero)
    before = snapshot()
    data = {"owner_tenant": contoso_world.tenant.pk, "scope_kind": "site", "meeting_ux": "True"}
    refused = client.post(
        reverse("admin:tenants_webserviceconfiguration_add"), {**data, "scope_site": fabrikam_world.site.pk}
    )
    assert "does not belong to Contoso" in refused.content.decode()
    assert snapshot() == before
    dublin = Site.objects.create(tenant=contoso_world.tenant, name="Dublin")
    added = client.post(reverse("admin:tenants_webserviceconfiguration_add"), {**data, "scope_site": dublin.pk})
    assert added.status_code == 302
    assert WebServiceConfiguration.objects.get(site=dublin).tenant == contoso_world.tenant

"""Small defects of issue 10, each seen as a person meets it: a Meetings App setting added twice, a
new key created again by a reload, sites differing only in case, the bare root and the bare 403."""

import hashlib

import pytest
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.urls import reverse

from tenants import services
from tenants.admin import NEW_KEY_COOKIE
from tenants.forms import POOL_BESIDE_SCOPE, SITE_BESIDE_SCOPE
from tenants.models import AuditLogEntry, IngestionKey, Site, WebServiceConfiguration
from tests.conftest import COMMAND_ACTOR

ADD_SETTING = "admin:tenants_webserviceconfiguration_add"


def test_adding_a_setting_at_a_scope_that_has_one_is_refused_and_links_to_it(client, hamlet, contoso_world):
    client.force_login(hamlet)
    before = WebServiceConfiguration.objects.count()
    data = {"scope_kind": "site", "scope_site": contoso_world.site.pk, "meeting_ux": "True"}
    response = client.post(reverse(ADD_SETTING), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "added successfully" not in body
    assert "A Meetings App setting at Site:Redmond already exists" in body
    url = reverse("admin:tenants_webserviceconfiguration_change", args=[contoso_world.site_configuration.pk])
    assert f'<a href="{url}">change that one</a>' in body
    assert WebServiceConfiguration.objects.count() == before


def test_adding_a_global_setting_is_refused_as_it_always_exists(client, hamlet, contoso):
    client.force_login(hamlet)
    response = client.post(reverse(ADD_SETTING), {"scope_kind": "global", "meeting_ux": "True"})
    assert "A Meetings App setting at Global already exists" in response.content.decode()
    assert not AuditLogEntry.objects.filter(actor="hamlet").exists()


def test_a_pool_chosen_with_the_site_scope_is_refused(client, hamlet, contoso_pool):
    client.force_login(hamlet)
    site = services.site_create(tenant=contoso_pool.tenant, name="Oslo", actor=COMMAND_ACTOR)
    data = {"scope_kind": "site", "scope_site": site.pk, "scope_pool": contoso_pool.pk, "meeting_ux": "True"}
    response = client.post(reverse(ADD_SETTING), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["scope_pool"] == [POOL_BESIDE_SCOPE.format(scope="Site")]
    assert not WebServiceConfiguration.objects.filter(site=site).exists()


def test_a_site_chosen_with_the_pool_scope_is_refused(client, hamlet, contoso_pool):
    client.force_login(hamlet)
    data = {
        "scope_kind": "service",
        "scope_site": contoso_pool.site.pk,
        "scope_pool": contoso_pool.pk,
        "meeting_ux": "True",
    }
    response = client.post(reverse(ADD_SETTING), data)
    errors = response.context["adminform"].form.errors
    assert errors["scope_site"] == [SITE_BESIDE_SCOPE.format(scope="Pool (Service:WebServer)")]
    assert not WebServiceConfiguration.objects.filter(pool=contoso_pool).exists()


def test_a_new_setting_at_a_free_scope_is_still_added(client, hamlet, contoso_pool):
    client.force_login(hamlet)
    data = {"scope_kind": "service", "scope_pool": contoso_pool.pk, "meeting_ux": "True"}
    response = client.post(reverse(ADD_SETTING), data)
    assert response.status_code == 302
    assert WebServiceConfiguration.objects.get(pool=contoso_pool).meeting_ux_enable_telemetry is True


def test_a_new_key_is_shown_once_after_a_redirect_and_a_reload_creates_nothing(client, hamlet, contoso):
    client.force_login(hamlet)
    posted = client.post(reverse("admin:tenants_ingestionkey_add"), {"label": "gateway"})
    key = IngestionKey.objects.get(label="gateway")
    created_url = reverse("admin:tenants_ingestionkey_created", args=[key.pk])
    assert posted.status_code == 302
    assert posted["Location"] == created_url
    shown = client.get(created_url)
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    secret = shown.context["secret"]
    assert hashlib.sha256(secret.encode()).hexdigest() == key.key_hash
    assert secret in shown.content.decode()
    # The page forgets it as it shows it: the cookie that carried it is deleted.
    assert shown.cookies[NEW_KEY_COOKIE].value == ""
    reloaded = client.get(created_url, follow=True)
    body = reloaded.content.decode()
    assert secret not in body
    assert "was shown once, when it was created, and cannot be shown again" in body
    assert IngestionKey.objects.filter(tenant=contoso).count() == 1


def test_the_secret_is_never_in_the_database(client, hamlet, contoso):
    client.force_login(hamlet)
    client.post(reverse("admin:tenants_ingestionkey_add"), {"label": "gateway"})
    key = IngestionKey.objects.get(label="gateway")
    secret = client.get(reverse("admin:tenants_ingestionkey_created", args=[key.pk])).context["secret"]
    for session in Session.objects.all():
        assert secret not in str(session.get_decoded())
        assert secret not in session.session_data


def test_another_tenants_admin_cannot_open_the_created_page(client, hamlet, othello, contoso):
    client.force_login(hamlet)
    client.post(reverse("admin:tenants_ingestionkey_add"), {"label": "gateway"})
    key = IngestionKey.objects.get(label="gateway")
    client.force_login(othello)
    assert client.get(reverse("admin:tenants_ingestionkey_created", args=[key.pk])).status_code == 404


def test_site_names_are_unique_whatever_their_case(client, hamlet, contoso):
    services.site_create(tenant=contoso, name="Oslo", actor=COMMAND_ACTOR)
    client.force_login(hamlet)
    response = client.post(reverse("admin:tenants_site_add"), {"name": "oslo"})
    assert response.context["adminform"].form.errors["name"] == [
        services.SITE_EXISTS.format(tenant="contoso", name="Oslo")
    ]
    assert list(Site.objects.filter(tenant=contoso).values_list("name", flat=True)) == ["Oslo"]


def test_the_database_refuses_a_site_name_differing_only_in_case(contoso):
    Site.objects.create(tenant=contoso, name="Oslo")
    with pytest.raises(IntegrityError), transaction.atomic():
        Site.objects.create(tenant=contoso, name="OSLO")


def test_a_site_scope_is_found_whatever_its_case(contoso):
    site = services.site_create(tenant=contoso, name="Oslo", actor=COMMAND_ACTOR)
    assert services.scope_parse(tenant=contoso, identity="Site:OSLO").site == site


def test_the_root_leads_to_the_portal(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_a_403_page_has_the_portals_navigation_and_says_why(client, iago, contoso_world):
    client.force_login(iago)
    response = client.get(reverse("admin:tenants_site_add"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "Telemetry governance portal" in body
    assert f'href="{reverse("admin:index")}"' in body
    assert "You are signed in as iago, and your role does not allow this page or this change." in body
    assert "Log out" in body

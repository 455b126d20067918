"""A tenant admin reads "Your organization" and "Data collection policies", never "Tenants"; support
staff, who see many tenants, keep "Tenants". The header leads to the dashboard; pages have an icon."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.test import override_settings
from django.urls import reverse

from tenants.admin_base import CONFIRM_STOP_FIELD

FAVICON = "tenants/favicon.svg"


def tenant_url(tenant):
    return reverse("admin:tenants_tenant_change", args=[tenant.pk])


def sidebar_entries(body: str) -> dict[str, str]:
    """The model entries of the sidebar: name -> link."""
    sidebar = body[body.index('id="nav-sidebar"') :]
    return {
        name: href for href, name in re.findall(r'<th scope="row"[^>]*>\s*<a href="([^"]+)"[^>]*>([^<]+)</a>', sidebar)
    }


def h1(body: str) -> str:
    return re.search(r"<h1>([^<]*)</h1>", body).group(1)


def test_a_tenant_admins_sidebar_says_your_organization_and_leads_to_its_page(client, hamlet, contoso):
    client.force_login(hamlet)
    body = client.get(reverse("admin:tenants_site_changelist")).content.decode()
    entries = sidebar_entries(body)
    assert entries["Your organization"] == tenant_url(contoso)
    assert "Tenants" not in entries
    assert next(iter(entries)) == "Your organization"


def test_a_tenant_admin_reads_data_collection_policies_not_change_tenant(client, hamlet, contoso):
    client.force_login(hamlet)
    body = client.get(tenant_url(contoso)).content.decode()
    assert h1(body) == "Data collection policies"
    assert "Change tenant" not in body
    assert "Tenants" not in body
    assert "Your organization: Contoso" in body
    assert 'name="_continue"' not in body
    history = client.get(reverse("admin:tenants_tenant_history", args=[contoso.pk])).content.decode()
    assert "Tenants" not in history
    assert f'<a href="{tenant_url(contoso)}">Your organization</a>' in history


def test_saving_brings_a_tenant_admin_back_to_the_policies_with_their_words(client, hamlet, contoso):
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "False", "watson_uploads_enabled": "True"}
    asked = client.post(tenant_url(contoso), data).content.decode()
    assert "Your organization: Contoso" in asked
    assert "Tenants" not in asked
    saved = client.post(tenant_url(contoso), {**data, CONFIRM_STOP_FIELD: "yes"}, follow=True)
    assert saved.redirect_chain == [(tenant_url(contoso), 302)]
    body = saved.content.decode()
    assert "Your organization&#x27;s data collection policies are saved." in body
    assert "was changed successfully" not in body


def test_support_staff_keep_tenants(client, iago, contoso, fabrikam):
    client.force_login(iago)
    body = client.get(reverse("admin:tenants_site_changelist")).content.decode()
    entries = sidebar_entries(body)
    assert entries["Tenants"] == reverse("admin:tenants_tenant_changelist")
    assert "Your organization" not in body
    changelist = client.get(reverse("admin:tenants_tenant_changelist"))
    assert changelist.status_code == 200
    page = client.get(tenant_url(contoso)).content.decode()
    assert h1(page) == "View tenant"


@pytest.mark.parametrize("who", ["hamlet", "iago"])
def test_the_header_leads_to_the_dashboard_not_to_a_missing_root(client, request, who):
    client.force_login(request.getfixturevalue(who))
    body = client.get(reverse("admin:index")).content.decode()
    assert f'<a href="{reverse("dashboard")}" class="portal-dashboard-link">Telemetry dashboard</a>' in body
    assert 'href="/"' not in body
    assert "View site" not in body


@override_settings(ROOT_URLCONF="tests.admin.urls_without_dashboard")
def test_without_the_dashboard_the_header_link_is_hidden(client, hamlet):
    client.force_login(hamlet)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "portal-dashboard-link" not in body
    assert 'href="/"' not in body


def test_pages_declare_the_portals_icon_so_browsers_do_not_ask_for_favicon_ico(client, hamlet):
    path = finders.find(FAVICON)
    assert path is not None
    with open(path) as icon:
        assert icon.read().startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    link = '<link rel="icon" href="/static/tenants/favicon.svg" type="image/svg+xml">'
    assert link in client.get(reverse("admin:login")).content.decode()
    client.force_login(hamlet)
    assert link in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize("who", ["hamlet", "iago"])
def test_the_tenant_history_leads_to_the_audit_log(client, request, who, contoso, fabrikam):
    client.force_login(request.getfixturevalue(who))
    body = client.get(reverse("admin:tenants_tenant_history", args=[contoso.pk])).content.decode()
    link = re.search(r'id="audit-log-link" href="([^"]+)"', body).group(1)
    listed = client.get(link.replace("&amp;", "&")).context["cl"].result_list
    assert {entry.tenant_id for entry in listed} == {contoso.pk}
    assert any(entry.action == "create_tenant" for entry in listed)


# --- Meetings App settings: named as people say it, not by the cmdlet's noun -------------------------


@pytest.mark.django_db
def test_meeting_ux_configurations_are_called_meetings_app_settings(client, hamlet, contoso):
    client.force_login(hamlet)
    changelist = reverse("admin:tenants_webserviceconfiguration_changelist")
    assert sidebar_entries(client.get(changelist).text).get("Meetings App settings") == changelist
    for url, title in (
        (changelist, "Meetings App settings"),
        (reverse("admin:tenants_webserviceconfiguration_add"), "Add a Meetings App setting"),
    ):
        body = client.get(url).text
        assert h1(body) == title
        breadcrumbs = body.split('class="breadcrumbs"')[1].split("</div>")[0]
        assert "Meetings App settings" in breadcrumbs
        assert "eb service configuration" not in breadcrumbs


@pytest.mark.django_db
def test_removing_a_meetings_app_setting_says_what_follows(client, hamlet, contoso, contoso_site):
    from tenants import services

    scope = services.scope_parse(tenant=contoso, identity=f"Site:{contoso_site.name}")
    row = services.web_service_configuration_set(
        tenant=contoso, scope=scope, meeting_ux_enable_telemetry=False, actor=services.Actor.for_command("test")
    )
    client.force_login(hamlet)
    url = reverse("admin:tenants_webserviceconfiguration_delete", args=[row.pk])
    body = client.get(url).text
    assert "next broader scope" in body
    assert "Summary" not in body
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not type(row).objects.all_tenants().filter(pk=row.pk).exists()


@pytest.mark.django_db
def test_the_policy_page_leads_to_the_dashboard_of_that_tenant(client, hamlet, contoso):
    client.force_login(hamlet)
    body = client.get(tenant_url(contoso)).text
    assert f'href="{reverse("dashboard")}?tenant=contoso"' in body


@pytest.mark.django_db
def test_an_audit_entry_page_shows_its_values_as_the_cmdlets_print_them(client, hamlet, contoso):
    from tenants import services

    services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=services.Actor.for_user(hamlet)
    )
    entry = contoso.audit_log.get(action="set_client_policy")
    client.force_login(hamlet)

    body = client.get(reverse("admin:tenants_auditlogentry_change", args=[entry.pk])).text

    values = re.findall(r'<div class="readonly">([^<]*)</div>', body)
    assert "False" in values  # old: a JSON false shown as PowerShell prints it, not "false"
    assert "True" in values
    assert "false" not in values
    assert "command:." not in body  # the actor's help text is words, not a tag the browser swallows

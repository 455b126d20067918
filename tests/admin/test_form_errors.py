"""What a service would refuse is an error on the field it is about, with the typed input kept, and
nothing is written: the forms run the services' own checks (tenants/services.py *_check)."""

from html import escape

import pytest
from django.urls import reverse

from tenants import services
from tenants.forms import SiteAddForm
from tenants.models import AuditLogEntry, Pool, Site, Tenant


def rows():
    return (
        Tenant.objects.all_tenants().count(),
        Site.objects.all_tenants().count(),
        Pool.objects.all_tenants().count(),
        AuditLogEntry.objects.all_tenants().count(),
    )


def refused(client, url, data, field, message):
    """Post `data`; expect the form back with `message` on `field` and every typed value kept."""
    before = rows()
    response = client.post(url, data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors[field] == [message]
    body = response.content.decode()
    for name, value in data.items():
        if name in form.fields and not str(value).isdigit():
            assert f'value="{escape(str(value))}"' in body, name
    assert rows() == before
    return body


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Redmond", services.SITE_EXISTS.format(tenant="contoso", name="Redmond")),
        ("Site:Dublin", services.SITE_NAME_INVALID.format(name="Site:Dublin")),
    ],
)
def test_a_refused_site_name_is_an_error_on_the_name(client, hamlet, contoso_site, name, message):
    client.force_login(hamlet)
    refused(client, reverse("admin:tenants_site_add"), {"name": name}, "name", message)


@pytest.mark.parametrize(
    ("fqdn", "message"),
    [
        ("POOL01.contoso.com.", services.POOL_EXISTS.format(tenant="contoso", fqdn="pool01.contoso.com")),
        ("not a name", services.FQDN_INVALID.format(fqdn="not a name")),
    ],
)
def test_a_refused_pool_fqdn_is_an_error_on_the_fqdn(client, hamlet, contoso_pool, fqdn, message):
    client.force_login(hamlet)
    refused(client, reverse("admin:tenants_pool_add"), {"fqdn": fqdn, "site": contoso_pool.site.pk}, "fqdn", message)


def test_the_same_site_name_in_another_tenant_is_fine(client, othello, contoso_site, fabrikam):
    client.force_login(othello)
    assert client.post(reverse("admin:tenants_site_add"), {"name": "Redmond"}).status_code == 302
    assert Site.objects.get(tenant=fabrikam).name == "Redmond"


def test_a_superuser_gets_the_site_of_another_tenant_as_an_error_on_the_site(
    client, prospero, contoso, fabrikam, contoso_site
):
    client.force_login(prospero)
    data = {"tenant": fabrikam.pk, "fqdn": "pool02.fabrikam.com", "site": contoso_site.pk}
    message = services.SITE_MISSING.format(tenant="fabrikam", name="Redmond")
    refused(client, reverse("admin:tenants_pool_add"), data, "site", message)


def test_a_superuser_gets_a_taken_site_name_of_the_chosen_tenant_as_an_error(client, prospero, contoso_site):
    client.force_login(prospero)
    message = services.SITE_EXISTS.format(tenant="contoso", name="Redmond")
    data = {"tenant": contoso_site.tenant.pk, "name": "Redmond"}
    refused(client, reverse("admin:tenants_site_add"), data, "name", message)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"slug": "contoso", "name": "Again", "domain": "again.com"}, "slug", services.TENANT_EXISTS),
        ({"slug": "tailspin", "name": "Tailspin", "domain": "tailspin"}, "domain", services.FQDN_INVALID),
    ],
)
def test_a_superuser_adding_a_tenant_sees_the_refusal_on_its_field(client, prospero, contoso, data, field, message):
    client.force_login(prospero)
    expected = message.format(slug=data["slug"], fqdn=data["domain"])
    refused(client, reverse("admin:tenants_tenant_add"), data, field, expected)


def test_valid_input_still_goes_through_the_service(client, hamlet, contoso_pool):
    client.force_login(hamlet)
    response = client.post(reverse("admin:tenants_pool_add"), {"fqdn": "Pool02.Contoso.com.", "site": ""})
    assert response.status_code == 302
    pool = Pool.objects.get(fqdn="pool02.contoso.com")
    assert pool.tenant == contoso_pool.tenant
    assert AuditLogEntry.objects.filter(action="create_pool", actor="hamlet").count() == 1


def test_a_refusal_the_form_could_not_foresee_is_still_a_message_and_changes_nothing(
    client, hamlet, contoso, monkeypatch
):
    # Another request takes the name between the form's validation and the write. The real service
    # runs and must refuse on its own check; the competing site shares this request's transaction in
    # a test, so it is rolled back with it and the tables end as they began.
    validate = SiteAddForm.clean

    def clean_then_taken_meanwhile(form):
        cleaned = validate(form)
        Site.objects.create(tenant=contoso, name="Dublin")
        return cleaned

    monkeypatch.setattr(SiteAddForm, "clean", clean_then_taken_meanwhile)
    client.force_login(hamlet)
    before = rows()
    response = client.post(reverse("admin:tenants_site_add"), {"name": "Dublin"}, follow=True)
    assert response.redirect_chain == [(reverse("admin:tenants_site_add"), 302)]
    assert [str(message) for message in response.context["messages"]] == [
        services.SITE_EXISTS.format(tenant="contoso", name="Dublin")
    ]
    assert rows() == before
    assert not AuditLogEntry.objects.filter(actor="hamlet").exists()

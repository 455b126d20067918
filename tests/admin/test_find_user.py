"""People find a user by typing their user ID into a POST form: the ID is hashed on arrival and never
reaches a URL (access logs, browser history), a page, or a GET search."""

from urllib.parse import quote, quote_plus, urlencode

import pytest
from django.test import Client
from django.urls import reverse

from telemetry.pseudonymize import hash_user_id, mask_pseudonym
from tenants import services
from tests.admin.conftest import error_report_create

TYPED_ID = "Amos.Marble@contoso.com"
END_USERS = "tenants_enduser"
ERROR_REPORTS = "telemetry_errorreport"


def find(client, name, user_id, *, tenant=None):
    """Type `user_id` into the find-user form of a change list and follow the redirect. Those who see
    several organizations choose one (`tenant`): pseudonyms are per organization."""
    data = {"user_id": user_id, **({"tenant": tenant.slug} if tenant is not None else {})}
    return client.post(reverse(f"admin:{name}_find_user"), data, follow=True)


def listed(response):
    return list(response.context["cl"].result_list)


def assert_nowhere(response, typed: str):
    """The typed ID is in no URL the browser was sent to, no Location header and no page body."""
    spellings = {typed, typed.strip(), typed.strip().casefold(), quote(typed.strip()), quote_plus(typed.strip())}
    for url, _status in response.redirect_chain:
        assert not any(spelling in url for spelling in spellings), url
    final_url = response.request["PATH_INFO"] + "?" + response.request["QUERY_STRING"]
    body = response.content.decode()
    for spelling in spellings:
        assert spelling not in final_url
        assert spelling not in body


@pytest.fixture
def amos(contoso):
    services.end_user_set_error_reporting(tenant=contoso, user_id="bea@contoso.com", opted_in=False)
    return services.end_user_set_error_reporting(tenant=contoso, user_id="amos.marble@contoso.com", opted_in=True)


def test_a_tenant_admin_finds_an_end_user_by_the_typed_id_without_it_reaching_a_url(client, hamlet, amos):
    client.force_login(hamlet)
    response = client.post(reverse(f"admin:{END_USERS}_find_user"), {"user_id": f"  {TYPED_ID} "})
    assert response.status_code == 302
    assert response["Location"] == reverse(f"admin:{END_USERS}_changelist") + "?" + urlencode(
        {"user_hash": amos.user_hash}
    )
    followed = find(client, END_USERS, f"  {TYPED_ID} ")
    assert listed(followed) == [amos]
    body = followed.content.decode()
    assert "Showing the user you looked up:" in body
    assert mask_pseudonym(amos.user_hash) in body
    assert_nowhere(followed, f"  {TYPED_ID} ")


def test_an_unknown_id_finds_nobody_and_says_so(client, hamlet, amos):
    client.force_login(hamlet)
    response = find(client, END_USERS, "nobody@contoso.com")
    assert listed(response) == []
    assert "No user with that ID." in response.content.decode()
    assert_nowhere(response, "nobody@contoso.com")


def test_a_user_of_another_tenant_is_not_found(client, hamlet, amos, fabrikam):
    services.end_user_set_error_reporting(tenant=fabrikam, user_id="ines@fabrikam.com", opted_in=True)
    client.force_login(hamlet)
    response = find(client, END_USERS, "ines@fabrikam.com")
    assert listed(response) == []
    assert "No user with that ID." in response.content.decode()


def test_the_get_search_no_longer_takes_a_user_id(client, hamlet, iago, amos, contoso_world):
    client.force_login(hamlet)
    users = client.get(reverse(f"admin:{END_USERS}_changelist"), {"q": TYPED_ID})
    assert 'id="searchbar"' not in users.content.decode()
    # The term is not matched (as before) by its hash: the list is simply unfiltered.
    assert amos in listed(users)
    assert len(listed(users)) > 1
    client.force_login(iago)
    reports = client.get(reverse(f"admin:{ERROR_REPORTS}_changelist"), {"q": "amos@contoso.com"})
    assert listed(reports) == []


def test_support_staff_find_the_error_reports_of_a_user(client, iago, contoso_world, fabrikam_world):
    other = error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, user_id="bea@contoso.com")
    mine = error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, user_id="amos@contoso.com")
    client.force_login(iago)
    response = find(client, ERROR_REPORTS, "AMOS@contoso.com", tenant=contoso_world.tenant)
    assert set(listed(response)) == {contoso_world.error_report, mine}
    assert other not in listed(response)
    body = response.content.decode()
    assert "Showing the error reports of the user you looked up:" in body
    assert "estimate" not in body
    assert_nowhere(response, "AMOS@contoso.com")
    nobody = find(client, ERROR_REPORTS, "nobody@contoso.com", tenant=contoso_world.tenant)
    assert listed(nobody) == []
    assert "No error reports from a user with that ID." in nobody.content.decode()


def test_the_form_needs_csrf_and_post(hamlet, amos):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(hamlet)
    url = reverse(f"admin:{END_USERS}_find_user")
    assert strict.post(url, {"user_id": TYPED_ID}).status_code == 403
    page = strict.get(reverse(f"admin:{END_USERS}_changelist"))
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    token = page.cookies["csrftoken"].value
    assert strict.post(url, {"user_id": TYPED_ID, "csrfmiddlewaretoken": token}).status_code == 302
    # A GET carries nothing to hash: it goes back to the list.
    assert strict.get(url, {"user_id": TYPED_ID})["Location"] == reverse(f"admin:{END_USERS}_changelist")


@pytest.mark.parametrize(("typed", "message"), [("   ", "Type the user ID to look up."), ("x" * 129, "at most 128")])
def test_a_bad_entry_is_a_message_that_does_not_repeat_it(client, hamlet, amos, typed, message):
    client.force_login(hamlet)
    response = find(client, END_USERS, typed)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "looked-up-user" not in body
    if typed.strip():
        assert typed not in body


def test_only_a_pseudonym_is_accepted_in_the_url(client, hamlet, amos):
    client.force_login(hamlet)
    url = reverse(f"admin:{END_USERS}_changelist")
    # A cleartext ID (or anything else that is not a pseudonym) is refused, never hashed and looked up.
    refused = client.get(url, {"user_hash": "amos.marble@contoso.com"})
    assert refused.status_code == 302
    assert refused["Location"].endswith("?e=1")
    found = client.get(url, {"user_hash": hash_user_id(TYPED_ID, tenant_id=amos.tenant_id)})
    assert listed(found) == [amos]


def test_a_tenant_admin_may_not_look_up_error_reports(client, hamlet, contoso_world):
    client.force_login(hamlet)
    assert client.post(reverse(f"admin:{ERROR_REPORTS}_find_user"), {"user_id": "amos@contoso.com"}).status_code == 403


def test_the_looked_up_user_survives_the_other_filters_and_their_counts(client, hamlet, amos):
    client.force_login(hamlet)
    url = reverse(f"admin:{END_USERS}_changelist")
    counted = client.get(url, {"user_hash": amos.user_hash, "_facets": "True", "error_reporting_opted_in__exact": "1"})
    assert counted.status_code == 200
    assert listed(counted) == [amos]
    opted_out = client.get(url, {"user_hash": amos.user_hash, "error_reporting_opted_in__exact": "0"})
    assert listed(opted_out) == []


def test_support_staff_must_choose_the_organization_and_find_only_its_user(client, iago, contoso_world, fabrikam_world):
    """The same user ID in two organizations has unrelated pseudonyms: a look-up is in one of them."""
    theirs = error_report_create(tenant=fabrikam_world.tenant, pool=fabrikam_world.pool, user_id="amos@contoso.com")
    mine = error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, user_id="amos@contoso.com")
    client.force_login(iago)

    unchosen = client.post(reverse(f"admin:{ERROR_REPORTS}_find_user"), {"user_id": "amos@contoso.com"}, follow=True)
    assert "Choose the organization the user belongs to." in unchosen.content.decode()
    assert "looked-up-user" not in unchosen.content.decode()

    found = listed(find(client, ERROR_REPORTS, "amos@contoso.com", tenant=contoso_world.tenant))
    assert mine in found
    assert theirs not in found
    assert mine.user_hash != theirs.user_hash

"""A NUL in the address is a 400 before any view runs (PostgreSQL refuses NUL in text: a 500 otherwise)."""

import pytest
from django.conf import settings

from tests.telemetry.client_api import assert_problem

PAGES_WITH_NUL = [
    "/portal/dashboard/?tenant=%00",
    "/portal/dashboard/export.csv?tenant=%00",
    "/portal/dashboard/?%00=contoso",
    "/admin/telemetry/errorreport/?client=%00",
    "/admin/tenants/auditlogentry/?action__exact=%00",
    "/admin/autocomplete/?term=%00&app_label=tenants&model_name=pool&field_name=site",
    "/admin/tenants/tenant/%00/change/",
]
API_PATHS_WITH_NUL = [
    "/api/v1/policy?user=%00",
    "/api/v1/policy?pool=pool01.contoso.com%00",
    "/api/v1/users/amos%00marble/error-reporting",
    "/portal/api/counts?tenant=%00",
    "/portal/api/counts?tenant=contoso&from=%00",
]


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="prospero", password="x" * 20)


@pytest.mark.parametrize("url", PAGES_WITH_NUL)
def test_a_nul_in_a_page_address_is_a_short_400_page(client, superuser, contoso_pool, url):
    client.force_login(superuser)

    response = client.get(url)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"NUL" in response.content


@pytest.mark.parametrize("url", API_PATHS_WITH_NUL)
def test_a_nul_in_an_api_address_is_a_problem_400(client, superuser, contoso_key, url):
    client.force_login(superuser)

    response = client.generic(
        "PUT" if "/users/" in url else "GET",
        url,
        '{"opted_in": true}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {contoso_key}",
    )

    assert_problem(response, 400, detail="The address holds a NUL character.")


@pytest.mark.parametrize(
    "url",
    ["/portal/dashboard/?tenant=contoso", "/portal/dashboard/export.csv?tenant=contoso", "/admin/tenants/tenant/"],
)
def test_addresses_without_nul_pass(client, superuser, contoso, url):
    client.force_login(superuser)

    assert client.get(url).status_code == 200


def test_the_middleware_runs_early():
    position = settings.MIDDLEWARE.index("portal.middleware.RefuseNulMiddleware")
    assert position < settings.MIDDLEWARE.index("django.contrib.sessions.middleware.SessionMiddleware")

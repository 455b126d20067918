"""The dashboard checks its `tenant` parameter before it reaches a query."""

import pytest

NUL_GUARD = "portal.middleware.RefuseNulMiddleware"


@pytest.fixture
def no_nul_guard(settings):
    """The view's own check, without the middleware that refuses NUL first."""
    settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != NUL_GUARD]


@pytest.mark.postgres
@pytest.mark.parametrize("url", ["/portal/dashboard/", "/portal/dashboard/export.csv"])
def test_a_nul_slug_is_a_404_not_a_database_error(client, iago, contoso, no_nul_guard, url):
    client.force_login(iago)

    assert client.get(url, {"tenant": "con\x00toso"}).status_code == 404
    assert client.get(url, {"tenant": "contoso"}).status_code == 200


@pytest.mark.parametrize("slug", ["Contoso", "con toso", "contoso!", "x" * 64, "contoso\x01"])
def test_a_malformed_slug_is_a_404(client, iago, contoso, no_nul_guard, slug):
    client.force_login(iago)

    assert client.get("/portal/dashboard/", {"tenant": slug}).status_code == 404

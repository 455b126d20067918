"""The language machinery: the browser's language chooses, the switcher overrides, the API stays English."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.telemetry.client_api import assert_problem

LANGUAGE_CODES = ["en", "it", "zh-hans", "es", "pt-br"]


def html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match, "the page has no <html lang>"
    return match.group(1)


def test_the_portal_speaks_the_languages_of_its_source():
    assert settings.LANGUAGE_CODE == "en"
    assert [code for code, _name in settings.LANGUAGES] == LANGUAGE_CODES
    assert settings.LOCALE_PATHS == [settings.BASE_DIR / "locale"]
    middleware = settings.MIDDLEWARE
    locale = middleware.index("portal.middleware.PortalLocaleMiddleware")
    # Before CommonMiddleware (which may redirect by language), as Django asks; and outside the NUL
    # refusal, whose answer then speaks the language and carries Content-Language like every other.
    assert locale < middleware.index("django.middleware.common.CommonMiddleware")
    assert locale < middleware.index("portal.middleware.RefuseNulMiddleware")


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [("it", "it"), ("zh-CN,zh;q=0.9", "zh-hans"), ("es-MX,es;q=0.8", "es"), ("pt-BR", "pt-br"), ("de", "en")],
)
def test_the_browser_language_chooses_the_page_language(client, db, accept_language, expected):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE=accept_language)

    assert response.status_code == 200
    assert html_lang(response) == expected
    assert response["Content-Language"] == expected


@pytest.mark.urls("tests.i18n.urls_language")
@pytest.mark.parametrize("path", ["/api/v1/language-probe", "/portal/api/language-probe"])
def test_api_paths_answer_in_english_whatever_the_client_asks(client, db, path):
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="it")

    assert response.json() == {"language": "en", "log_out": "Log out"}
    assert response["Content-Language"] == "en"
    assert "Accept-Language" not in response.get("Vary", "")


@pytest.mark.urls("tests.i18n.urls_language")
def test_a_page_path_runs_in_the_language_asked_for(client, db):
    response = client.get("/portal/language-probe", HTTP_ACCEPT_LANGUAGE="it")

    body = response.json()
    assert body["language"] == "it"
    assert body["log_out"] != "Log out"  # Django's Italian catalogue
    assert "Accept-Language" in response["Vary"]


def test_an_api_problem_stays_english_with_an_italian_browser(client, db):
    response = client.get("/api/v1/no-such-endpoint", HTTP_ACCEPT_LANGUAGE="it")

    body = assert_problem(response, 404, detail="There is no such endpoint.")
    assert body["title"] == "Not found"
    assert response["Content-Language"] == "en"


def test_the_language_cookie_does_not_reach_the_api(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get("/api/v1/no-such-endpoint")

    assert_problem(response, 404, detail="There is no such endpoint.")
    assert response["Content-Language"] == "en"


def switcher(response) -> str:
    match = re.search(r'<form class="portal-language".*?</form>', response.content.decode(), re.S)
    assert match, "the page has no language switcher"
    return match.group(0)


def test_the_sign_in_page_has_the_switcher(client, db):
    form = switcher(client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="es"))

    assert f'action="{reverse("set_language")}"' in form
    assert 'method="post"' in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<label for="portal-language-select">' in form
    assert '<select name="language" id="portal-language-select">' in form
    # Each language in its own name, the current one selected.
    for code, name in [
        ("en", "English"),
        ("it", "italiano"),
        ("zh-hans", "简体中文"),
        ("es", "español"),
        ("pt-br", "Português Brasileiro"),
    ]:
        assert f'value="{code}" lang="{code}"' in form
        assert f">{name}</option>" in form
    assert 'value="es" lang="es" selected' in form
    assert '<button type="submit">' in form


@pytest.mark.parametrize("page", ["admin:index", "dashboard", "datasheet"])
def test_signed_in_pages_have_the_switcher_with_the_current_path(client, hamlet, page):
    client.force_login(hamlet)
    url = reverse(page)

    form = switcher(client.get(url))

    assert f'name="next" value="{url}"' in form


def test_the_switcher_changes_the_language_of_the_next_page(client, hamlet):
    client.force_login(hamlet)

    response = client.post(reverse("set_language"), {"language": "pt-br", "next": reverse("admin:index")})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")
    # The choice beats the browser's own language from now on.
    page = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="it")
    assert html_lang(page) == "pt-br"


def test_the_switcher_refuses_a_language_the_portal_does_not_speak(client, db):
    client.post(reverse("set_language"), {"language": "de", "next": reverse("admin:login")})

    page = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="it")
    assert html_lang(page) == "it"


def test_the_switcher_does_not_send_anyone_elsewhere(client, db):
    response = client.post(reverse("set_language"), {"language": "it", "next": "https://evil.example/"})

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_the_404_page_follows_the_language_and_is_the_same_for_every_path(client, hamlet):
    client.force_login(hamlet)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"

    not_found = client.get("/portal/nothing-here")
    elsewhere = client.get("/admin/tenants/pool/999999/change/")

    assert not_found.status_code == elsewhere.status_code == 404
    assert html_lang(not_found) == "es"
    assert "Página no encontrada" in not_found.content.decode()  # Django's own Spanish
    # No switcher, whose CSRF token and path would tell one 404 from another (tests/admin/test_scoping.py).
    assert 'class="portal-language"' not in not_found.content.decode()


@pytest.mark.urls("tests.admin.urls_without_dashboard")
def test_without_the_i18n_urls_the_switcher_is_hidden(client, hamlet):
    client.force_login(hamlet)

    page = client.get(reverse("admin:index"))

    assert page.status_code == 200
    assert 'class="portal-language"' not in page.content.decode()


def test_the_403_page_follows_the_language(client, iago):
    client.force_login(iago)

    refused = client.get(reverse("admin:tenants_tenant_add"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert refused.status_code == 403
    assert html_lang(refused) == "zh-hans"
    switcher(refused)


@pytest.mark.urls("tests.telemetry.urls_raising")
def test_the_500_page_follows_the_language(db):
    client = Client(raise_request_exception=False)

    response = client.get("/portal/failing", HTTP_ACCEPT_LANGUAGE="it")

    assert response.status_code == 500
    assert html_lang(response) == "it"
    # Django's own Italian title: the page is rendered in the language chosen, without a request.
    assert "<title>Errore del server (500)</title>" in response.content.decode()


def test_the_nul_refusal_of_a_page_speaks_the_language_and_the_apis_stays_english(client, db):
    page = client.get("/admin/?q=%00", HTTP_ACCEPT_LANGUAGE="es")
    api = client.get("/api/v1/openapi.json?x=%00", HTTP_ACCEPT_LANGUAGE="es")

    assert page.status_code == api.status_code == 400
    assert html_lang(page) == page["Content-Language"] == "es"
    assert_problem(api, 400, detail="The address holds a NUL character.")
    assert api["Content-Language"] == "en"


def test_static_files_do_not_vary_by_language(client, db, settings):
    # As a local run serves them (DEBUG): WhiteNoise finds the files where they are.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True

    response = client.get(settings.STATIC_URL + "portal/portal.css", HTTP_ACCEPT_LANGUAGE="it")

    assert response.status_code == 200
    assert "Accept-Language" not in response.get("Vary", "")
    assert "Content-Language" not in response

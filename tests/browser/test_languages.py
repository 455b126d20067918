"""The portal in each language a browser prefers (Accept-Language through Playwright's locale): the
policies page, the stop-collection confirmation, the dashboard and a record browser show none of the
portal's own English sentences (tests/i18n/english.py), and hold their layout at 1280 and 390 pixels
in every language, the longest included. Screenshots go to test-artifacts/languages-<lang>-*.png.

Fails while a translation is missing: that is its job.
"""

import pytest
from django.conf import settings

from telemetry.services import ingest_batch
from tenants import services
from tests.browser.conftest import ARTIFACTS
from tests.conftest import COMMAND_ACTOR
from tests.i18n.english import english_sentences
from tests.telemetry.factories import census, error, usage

pytestmark = [pytest.mark.browser]

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# Playwright's locale sets the browser's language, hence its Accept-Language.
BROWSER_LOCALES = {"it": "it-IT", "zh-hans": "zh-CN", "es": "es-ES", "pt-br": "pt-BR"}
WIDTHS = {"1280": {"width": 1280, "height": 900}, "390": {"width": 390, "height": 844}}
WIDER_THAN_THE_WINDOW = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
  .slice(0, 8)
  .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')}`)"""


@pytest.fixture
def telemetry(contoso, contoso_pool, hamlet, iago):
    """Something on every page: a site configuration, accepted and dropped counts, stored records."""
    services.web_service_configuration_set(
        tenant=contoso,
        scope=services.scope_parse(tenant=contoso, identity="Global"),
        meeting_ux_enable_telemetry=True,
        actor=COMMAND_ACTOR,
    )
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    ingest_batch(tenant=contoso, records=[census(), usage(), usage(ims_sent=-1), error(), error(user_id="nobody")])
    return contoso


def check(page, language: str, name: str) -> list[str]:
    """What is wrong with the page as the browser shows it, at each width: English left, sideways scrolling."""
    problems = []
    lang = page.evaluate("() => document.documentElement.lang")
    if lang != language:
        problems.append(f"{name}: <html lang={lang!r}>")
    try:
        english = english_sentences(page.inner_text("body") + "\n" + page.title(), language)
    except AssertionError as missing_catalogue:  # reported with the layout's problems, not instead of them
        english = [str(missing_catalogue)]
    if english:
        problems.append(f"{name}: still English: {english}")
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"languages-{language}-{name}-{width}.png"), full_page=True)
        page_width, window = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if page_width > window:
            culprits = ", ".join(page.evaluate(WIDER_THAN_THE_WINDOW))
            problems.append(f"{name} at {width} pixels: {page_width} wide in {window} ({culprits})")
    page.set_viewport_size(WIDTHS["1280"])
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_the_browser_prefers_walks_the_portal_without_english(
    transactional_db, chromium, live_server, telemetry, sign_in, language
):
    problems = []
    for username in ("hamlet", "iago"):
        context = chromium.new_context(
            base_url=live_server.url, viewport=WIDTHS["1280"], locale=BROWSER_LOCALES[language]
        )
        page = context.new_page()
        try:
            sign_in(page, username)
            if username == "hamlet":
                page.goto(f"/admin/tenants/tenant/{telemetry.pk}/change/")
                problems += check(page, language, "policies")
                # The confirmation before usage data stops: nothing is changed until it is confirmed.
                page.locator("input[name=usage_collection_enabled][value=False]").check()
                page.locator("input[name=_save]").click()
                page.wait_for_selector("#stopping-changes")
                problems += check(page, language, "confirmation")
                page.goto("/portal/dashboard/")
                problems += check(page, language, "dashboard")
            else:
                page.goto("/admin/telemetry/errorreport/")
                problems += check(page, language, "record-browser")
        finally:
            context.close()
    telemetry.refresh_from_db()
    assert telemetry.usage_collection_enabled, "the walk confirmed the stop: it must only look at the confirmation"
    assert not problems, "\n".join(problems)


def test_the_switcher_works_by_keyboard(transactional_db, page, live_server, sign_in, hamlet):
    sign_in(page, "hamlet")
    page.goto("/portal/datasheet/")

    page.get_by_label("Language").focus()
    page.keyboard.press("End")  # the last language of the list: pt-br
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.documentElement.lang === 'pt-br'")

    assert page.url.endswith("/portal/datasheet/")

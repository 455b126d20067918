"""The retention and the explainer of a looked-up user in a real browser: a tenant admin shortens a
retention, is asked first with the records each table loses, and confirms; at 1280 and at 390 pixels,
without sideways scrolling and without a serious axe violation. Screenshots of each page."""

import datetime
import shutil
import subprocess

import pytest
from django.utils import timezone

from telemetry.models import IngestionCount
from tenants import services
from tenants.models import AuditLogEntry
from tests.browser.conftest import ConsoleLog
from tests.browser.test_accessibility_and_layout import AXE_DIR, AXE_JS, WIDER_THAN_THE_WINDOW, _axe

pytestmark = [pytest.mark.browser]


@pytest.fixture(scope="module")
def axe() -> str:
    """axe-core as the accessibility tests load it (from npm, pinned; never vendored)."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("The accessibility tests need axe-core from npm: install npm (Debian: apt-get install npm).")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR, check=True)
    return AXE_JS.read_text()


WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}


def _scrolls_sideways(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")


def _fits(page, what: str) -> None:
    assert not _scrolls_sideways(page), f"{what} scrolls sideways: " + ", ".join(page.evaluate(WIDER_THAN_THE_WINDOW))


@pytest.fixture
def contoso_with_old_usage(contoso, contoso_pool):
    today = timezone.now().date()
    for back in range(31, 41):
        IngestionCount.objects.create(
            tenant=contoso,
            day=today - datetime.timedelta(days=back),
            category="usage",
            client="desktop",
            outcome="accepted",
            records=120,
        )
    return contoso


@pytest.mark.parametrize("width", [1280, 390])
def test_shortening_a_retention_is_confirmed_with_what_it_deletes(
    transactional_db, chromium, live_server, contoso_with_old_usage, hamlet, sign_in, screenshot, axe, width
):
    contoso = contoso_with_old_usage
    context = chromium.new_context(base_url=live_server.url, viewport=WIDTHS[width])
    page = context.new_page()
    console = ConsoleLog()
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        sign_in(page, "hamlet")
        page.goto(f"/admin/tenants/tenant/{contoso.pk}/change/")
        days = page.get_by_label("Keep usage records for (days)")
        assert days.input_value() == "60"
        days.scroll_into_view_if_needed()
        screenshot(page, f"retention-policies-{width}")
        _fits(page, "the policies page")
        days.fill("30")
        page.locator("input[name=_save]").click()

        page.wait_for_selector("#deleting-changes")
        assert page.get_by_role("heading", name="Delete stored records?").is_visible()
        first_day = timezone.now().date() - datetime.timedelta(days=60)
        assert (
            page.locator("#deleting-changes li")
            .first.inner_text()
            .startswith(f"Usage records kept for 30 days instead of 60: 1,200 stored usage records dated {first_day}")
        )
        assert page.locator("#stopping-changes").count() == 0
        screenshot(page, f"retention-confirmation-{width}")
        _fits(page, "the confirmation")
        assert _axe(page, axe) == []
        contoso.refresh_from_db()
        assert contoso.usage_retention_days == 60

        page.goto(f"/admin/tenants/tenant/{contoso.pk}/change/")
        page.get_by_label("Keep usage records for (days)").fill("30")
        page.locator("input[name=_save]").click()
        page.get_by_role("button", name="Yes, delete them").click()
        page.wait_for_selector(".messagelist")
        assert page.get_by_text("Your organization's data collection policies are saved.").is_visible()
        contoso.refresh_from_db()
        assert contoso.usage_retention_days == 30
        assert AuditLogEntry.objects.filter(
            tenant=contoso, field="KeepUsageRecordsForDays", old_value=60, new_value=30, actor="hamlet"
        ).exists()
        assert console.csp_violations() == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_explainer_of_a_found_user_reads_at_1280_and_390_pixels(
    transactional_db, chromium, live_server, contoso, contoso_pool, hamlet, sign_in, screenshot, axe, width
):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amos.marble@contoso.com", opted_in=True)
    context = chromium.new_context(base_url=live_server.url, viewport=WIDTHS[width])
    page = context.new_page()
    try:
        sign_in(page, "hamlet")
        page.goto("/admin/tenants/enduser/")
        page.get_by_label("Find a user by their user ID").fill("amos.marble@contoso.com")
        page.get_by_role("button", name="Find").click()
        page.wait_for_selector("#user-explainer")
        assert "amos.marble" not in page.url
        explainer = page.locator("#user-explainer")
        assert explainer.get_by_role("heading", name="Desktop client").is_visible()
        assert explainer.get_by_role("heading", name="Join launcher").is_visible()
        assert explainer.get_by_text("This user has opted in to error reporting from their client.").is_visible()
        assert "amos.marble" not in page.content()
        screenshot(page, f"user-explainer-{width}")
        _fits(page, "the end users with the explainer")
        assert _axe(page, axe) == []
    finally:
        context.close()

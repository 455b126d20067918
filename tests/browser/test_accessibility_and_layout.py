"""Every portal page through axe-core, as a tenant admin and as support staff; the policies page and
the dashboard at a phone's 390 pixels without sideways scrolling; screenshots at 1280 and 390.

axe-core comes from npm (tests/browser/axe/package.json, pinned; `scripts/test` runs `npm ci` there and
the fixture below does it too when node_modules is missing): it is never vendored into the repository.
"""

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from telemetry.models import IngestionCount, UsageDailySum
from tenants import services
from tenants.models import AuditLogEntry
from tests.admin.conftest import census_record_create, error_report_create, usage_record_create
from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser]

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = {"serious", "critical"}
PHONE = {"width": 390, "height": 844}
# The innermost elements that reach past the window's right edge, to name the culprit of an overflow.
WIDER_THAN_THE_WINDOW = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
  .slice(0, 8)
  .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${[...e.classList].join('.')}`
    + ` (${Math.round(e.getBoundingClientRect().right)}px)`)"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("The accessibility tests need axe-core from npm: install npm (Debian: apt-get install npm).")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR, check=True)
    return AXE_JS.read_text()


@pytest.fixture
def busy_contoso(contoso, contoso_pool, hamlet):
    """Thirty days of counts of unlike sizes (a few usage records, thousands of call minutes) and eight
    policy changes, three of them on one day and two on adjacent days: what the charts must draw."""
    today = timezone.now().date()
    for offset in range(30):
        day = today - timedelta(days=offset)
        IngestionCount.objects.create(
            tenant=contoso, day=day, category="usage", client="desktop", outcome="accepted", records=offset % 4
        )
        if offset % 5 == 0:
            IngestionCount.objects.create(
                tenant=contoso,
                day=day,
                category="usage",
                client="desktop",
                outcome="dropped",
                reason="usage_collection_disabled",
                records=2,
            )
        UsageDailySum.objects.create(
            tenant=contoso,
            pool=contoso_pool,
            day=day,
            records=offset % 4,
            ims_sent=offset % 4 * 12,
            ims_received=offset % 3 * 9,
            meeting_join_attempts=offset % 4,
            meeting_join_successes=offset % 3,
            call_minutes=1500 + 97 * offset,
        )
    actor = services.Actor.for_user(hamlet)
    for days_ago, setting, value in [
        (20, services.CLIENT_POLICY, True),
        (20, services.WATSON, False),
        (20, services.CLIENT_POLICY, False),
        (12, services.CLIENT_POLICY, True),
        (11, services.CLIENT_POLICY, False),
        (3, services.WATSON, True),
        (0, services.CLIENT_POLICY, True),
        (0, services.CLIENT_POLICY, False),
    ]:
        services.tenant_setting_set(tenant=contoso, setting=setting, value=value, actor=actor)
        latest = AuditLogEntry.objects.latest("id")
        AuditLogEntry.objects.filter(pk=latest.pk).update(created_at=latest.created_at - timedelta(days=days_ago))
    return contoso


def screenshot_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _axe(page, axe_source: str) -> list[str]:
    """The serious and critical violations axe finds in the page, one line each."""
    # Evaluated, not injected as a <script>: the CSP allows no inline script, and evaluation is not one.
    page.evaluate(axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary']}"
        for violation in result["violations"]
        if violation["impact"] in SERIOUS
        for node in violation["nodes"]
    ]


def _tenant_admin_pages(contoso, contoso_pool) -> list[str]:
    return [
        "/admin/",
        f"/admin/tenants/tenant/{contoso.pk}/change/",
        "/admin/tenants/pool/",
        f"/admin/tenants/pool/{contoso_pool.pk}/change/",
        "/admin/tenants/site/",
        "/admin/tenants/enduser/",
        "/admin/tenants/ingestionkey/",
        "/admin/tenants/auditlogentry/",
        "/admin/tenants/webserviceconfiguration/",
        "/admin/tenants/webserviceconfiguration/add/",
        "/portal/dashboard/",
        "/portal/datasheet/",
        "/portal/erase/",
    ]


SUPPORT_PAGES = [
    "/admin/",
    "/admin/tenants/tenant/",
    "/admin/telemetry/usagerecord/",
    "/admin/telemetry/errorreport/",
    "/admin/telemetry/censusrecord/",
    "/portal/dashboard/",
]


def test_no_serious_accessibility_violation_on_a_tenant_admins_pages(
    transactional_db, page, live_server, busy_contoso, contoso, contoso_pool, contoso_key, hamlet, sign_in, axe_source
):
    sign_in(page, "hamlet")
    found = {}
    for url in _tenant_admin_pages(contoso, contoso_pool):
        response = page.goto(url)
        assert response.status == 200, url
        # The page itself breaks no CSP rule (axe, once evaluated, may set styles of its own).
        assert page.console_log.csp_violations() == [], url
        violations = _axe(page, axe_source)
        if violations:
            found[url] = violations
        page.console_log.clear()
    assert found == {}


def test_no_serious_accessibility_violation_on_support_staffs_pages(
    transactional_db, page, live_server, busy_contoso, contoso, contoso_pool, iago, sign_in, axe_source
):
    error_report = error_report_create(tenant=contoso, pool=contoso_pool)
    usage_record = usage_record_create(tenant=contoso, pool=contoso_pool, partner="fabrikam.com")
    census_record = census_record_create()
    sign_in(page, "iago")
    found = {}
    for url in [
        *SUPPORT_PAGES,
        f"/admin/tenants/tenant/{contoso.pk}/change/",
        f"/admin/telemetry/errorreport/{error_report.pk}/change/",
        f"/admin/telemetry/usagerecord/{usage_record.pk}/change/",
        f"/admin/telemetry/censusrecord/{census_record.pk}/change/",
        "/admin/telemetry/errorreport/?q=E-100",
    ]:
        response = page.goto(url)
        assert response.status == 200, url
        violations = _axe(page, axe_source)
        if violations:
            found[url] = violations
    assert found == {}


def test_axe_finds_a_violation_when_there_is_one(transactional_db, page, live_server, hamlet, sign_in, axe_source):
    """The control: an input without a label is reported."""
    sign_in(page, "hamlet")
    page.goto("/admin/")
    page.evaluate("() => { const i = document.createElement('input'); document.body.append(i); }")
    assert any(line.startswith("label ") for line in _axe(page, axe_source))


@pytest.mark.parametrize("url", ["policies", "dashboard"])
def test_no_sideways_scrolling_at_390_pixels(
    transactional_db, chromium, live_server, busy_contoso, contoso, hamlet, sign_in, screenshot, url
):
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, "hamlet")
        page.goto(f"/admin/tenants/tenant/{contoso.pk}/change/" if url == "policies" else "/portal/dashboard/")
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        screenshot(page, f"{url}-390")
        if url == "dashboard":  # the charts as a phone shows them, at their own size
            page.locator("#usage-heading").scroll_into_view_if_needed()
            page.screenshot(path=str(screenshot_dir() / "dashboard-390-usage-chart.png"))
        assert width[0] <= width[1], f"{url} is {width[0]} pixels wide in a {width[1]}-pixel window: " + ", ".join(
            page.evaluate(WIDER_THAN_THE_WINDOW)
        )
    finally:
        context.close()


@pytest.mark.parametrize("url", ["policies", "dashboard"])
def test_screenshots_at_1280_pixels(
    transactional_db, page, live_server, busy_contoso, contoso, hamlet, sign_in, screenshot, url
):
    sign_in(page, "hamlet")
    page.goto(f"/admin/tenants/tenant/{contoso.pk}/change/" if url == "policies" else "/portal/dashboard/")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, f"{url}-1280")


def test_the_record_browsers_search_box_has_a_name(transactional_db, page, live_server, iago, sign_in):
    sign_in(page, "iago")
    for model in ("usagerecord", "errorreport", "censusrecord"):
        page.goto(f"/admin/telemetry/{model}/")
        assert page.get_by_role("textbox", name="Search the records").is_visible(), model

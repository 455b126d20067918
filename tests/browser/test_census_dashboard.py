"""The census section of the all-tenants dashboard in Chromium: support staff read the installation's
sign-in figures (totals, a chart, the numbers per day) with no serious accessibility violation, no CSP
violation and no sideways scrolling, at 1280 and at 390 pixels."""

from datetime import timedelta

import pytest
from django.utils import timezone

from telemetry.models import CensusDailySum
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_accessibility_and_layout import PHONE, WIDER_THAN_THE_WINDOW, _axe, axe_source  # noqa: F401

pytestmark = [pytest.mark.browser]


@pytest.fixture
def census_month(db):
    today = timezone.now().date()
    for offset in range(30):
        CensusDailySum.objects.create(
            day=today - timedelta(days=offset),
            records=1000 + 37 * offset,
            sign_in_attempts=4000 + 251 * (offset % 7),
            sign_in_failures=40 + 13 * (offset % 5),
        )


def test_support_staff_read_the_census_section(
    transactional_db,
    page,
    live_server,
    iago,
    census_month,
    sign_in,
    screenshot,
    axe_source,  # noqa: F811
):
    sign_in(page, "iago")
    response = page.goto("/portal/dashboard/all/")
    assert response.status == 200

    section = page.locator("section", has=page.get_by_role("heading", name="Census: records and sign-ins"))
    section.scroll_into_view_if_needed()
    assert section.is_visible()
    totals = section.locator("#census-totals tbody td").all_inner_texts()
    expected = CensusDailySum.objects.order_by("day")
    assert totals == [
        f"{sum(row.records for row in expected):,}",
        f"{sum(row.sign_in_attempts for row in expected):,}",
        f"{sum(row.sign_in_failures for row in expected):,}",
    ]
    assert section.get_by_text("once the maintenance (maintain_telemetry) has moved it").is_visible()
    chart = section.locator("svg#chart-census-sums")
    assert chart.is_visible()
    assert chart.get_attribute("role") == "img"
    assert chart.locator("circle").count() == 3 * 30  # a dot per day, in each of the three panels
    box = chart.bounding_box()
    assert box["width"] > 400
    assert box["height"] > 200
    # The numbers of the chart open under their summary.
    section.get_by_text("Census per day (the numbers of the chart)").click()
    assert section.locator("#census-by-day tbody tr").count() == 30
    screenshot(page, "all-tenants-dashboard-1280")
    section.screenshot(path=str(ARTIFACTS / "census-section-1280.png"))

    assert page.console_log.csp_violations() == []
    assert _axe(page, axe_source) == []
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_the_census_section_fits_a_phone(transactional_db, chromium, live_server, iago, census_month, sign_in):
    context = chromium.new_context(base_url=live_server.url, viewport=PHONE)
    page = context.new_page()
    try:
        sign_in(page, "iago")
        page.goto("/portal/dashboard/all/")
        page.locator("#census-heading").scroll_into_view_if_needed()
        assert page.locator("svg#chart-census-sums").is_visible()
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], f"{width[0]} pixels wide in a {width[1]}-pixel window: " + ", ".join(
            page.evaluate(WIDER_THAN_THE_WINDOW)
        )
    finally:
        context.close()

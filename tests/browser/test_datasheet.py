"""The data sheet in a real browser, wide and narrow: it reads at 1280 px, and at 390 px the page never
scrolls sideways (each field's row becomes a card)."""

import pytest

pytestmark = [pytest.mark.browser]

NARROW = {"width": 390, "height": 844}


def _scrolls_sideways(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")


def test_the_data_sheet_reads_at_1280_and_at_390_pixels(
    transactional_db, page, live_server, contoso, contoso_pool, hamlet, sign_in, screenshot
):
    sign_in(page, "hamlet")
    page.goto(f"/admin/tenants/tenant/{contoso.pk}/change/")
    page.get_by_role("link", name="Data sheet").click()
    page.wait_for_url("**/portal/datasheet/?tenant=contoso")

    assert page.get_by_role("heading", name="Data sheet: Contoso").is_visible()
    assert page.get_by_text("Usage data collection: On").first.is_visible()
    assert page.locator("#fields-error thead").is_visible()
    assert page.locator("#field-error-user_id").get_by_text("keyed hash (tenant key)").is_visible()
    assert page.get_by_role("link", name="Download as CSV").is_visible()
    assert page.get_by_role("link", name="Download as JSON").is_visible()
    assert not _scrolls_sideways(page)
    screenshot(page, "datasheet-1280")

    page.set_viewport_size(NARROW)
    page.reload()
    assert not _scrolls_sideways(page), page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    # Narrow, the column headers are left to screen readers and each cell names its column.
    assert page.locator("#fields-error thead").bounding_box()["height"] <= 1
    row = page.locator("#field-error-ip_address")
    assert row.evaluate("row => getComputedStyle(row).display") == "block"
    label = row.locator("td[data-label='Kept for']").evaluate("cell => getComputedStyle(cell, '::before').content")
    assert label == '"Kept for"'
    assert row.is_visible()
    assert row.locator("td[data-label='Stored as']").get_by_text("203.0.113.0/24").is_visible()
    screenshot(page, "datasheet-390")

    assert page.console_log.csp_violations() == []

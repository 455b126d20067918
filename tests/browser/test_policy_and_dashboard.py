"""End to end in a real browser: a tenant admin turns usage collection off, a client's batch is
dropped, and the dashboard shows it; support staff find nothing to change."""

import json
import urllib.request

import pytest
from django.utils import timezone

from telemetry.models import IngestionCount, UsageRecord
from tests.telemetry.factories import usage

pytestmark = [pytest.mark.browser]


def _post_batch(base_url: str, key: str, records: list[dict]) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the live test server, over http
        f"{base_url}/api/v1/telemetry",
        data=json.dumps({"records": records}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the live test server
        return json.loads(response.read())


def _usage_record() -> dict:
    return usage(timestamp=timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ"))


def test_the_console_listener_sees_a_csp_violation(transactional_db, page, live_server, hamlet, sign_in):
    """The control for the CSP assertions below: an inline style is refused and reported."""
    sign_in(page, "hamlet")
    response = page.goto("/portal/dashboard/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.evaluate(
        "() => { const s = document.createElement('style'); s.textContent = 'p{}'; document.head.append(s); }"
    )
    page.wait_for_timeout(200)
    assert page.console_log.csp_violations()


def test_a_tenant_admin_turns_usage_off_and_the_dashboard_shows_the_drop(
    transactional_db, page, live_server, contoso, contoso_pool, contoso_key, hamlet, sign_in, screenshot
):
    sign_in(page, "hamlet")

    page.goto(f"/admin/tenants/tenant/{contoso.pk}/change/")
    assert page.get_by_label("Off").first.is_visible()
    screenshot(page, "policy-page-tenant-admin")
    page.locator("input[name=usage_collection_enabled][value=False]").check()
    page.locator("input[name=_save]").click()
    # The change stops collecting data: the admin is asked first, and nothing is written yet.
    page.wait_for_selector("#stopping-changes")
    screenshot(page, "policy-confirmation")
    contoso.refresh_from_db()
    assert contoso.usage_collection_enabled
    page.get_by_role("button", name="Yes, stop collecting").click()
    page.wait_for_load_state()
    contoso.refresh_from_db()
    assert not contoso.usage_collection_enabled

    answer = _post_batch(live_server.url, contoso_key, [_usage_record(), _usage_record()])
    assert answer["dropped"] == 2
    assert {result["reason"] for result in answer["results"]} == {"usage_collection_disabled"}
    assert not UsageRecord.objects.all_tenants().exists()
    assert IngestionCount.objects.get(outcome="dropped").records == 2

    page.goto("/portal/dashboard/")
    drops = page.locator("#drops")
    assert drops.get_by_text("Usage data collection is off").is_visible()
    assert drops.locator("td.number").first.inner_text() == "2"
    assert page.get_by_text("Usage data collection: Off").is_visible()
    # The change is marked on the charts' time axis, by whom.
    marker = page.locator("#chart-usage .chart-marker")
    today = timezone.now().date()
    assert marker.locator("text").text_content() == "1"
    assert marker.locator("title").text_content() == (
        f"Policy change 1: {today.isoformat()}: Usage data collection turned off by hamlet"
    )
    assert page.locator(".policy-changes li").first.inner_text().startswith("1 ")
    assert page.locator("#chart-usage .chart-bars .series-dropped").count() == 1
    screenshot(page, "dashboard-after-usage-off")

    page.get_by_text("Records per day (the numbers of the charts)").click()
    assert page.locator("#ledger").get_by_text("Usage data collection is off: 2").is_visible()
    assert page.console_log.csp_violations() == []


def test_support_staff_find_no_control_to_change_a_policy(
    transactional_db, page, live_server, contoso, contoso_pool, iago, sign_in, screenshot
):
    sign_in(page, "iago")
    page.goto(f"/admin/tenants/tenant/{contoso.pk}/change/")
    content = page.locator("#content-main")
    assert content.get_by_text("Usage data collection").first.is_visible()
    assert content.locator("input[type=submit], button[type=submit], input[type=radio], select, textarea").count() == 0
    assert content.locator("input[name=_save]").count() == 0
    screenshot(page, "policy-page-support")

    page.goto(f"/portal/dashboard/?tenant={contoso.slug}")
    assert page.get_by_text("Usage data collection: On").is_visible()
    # Support staff pick the tenant; the picker is the dashboard's only control, and it changes nothing.
    assert page.locator("select[name=tenant]").count() == 1
    screenshot(page, "dashboard-support")
    assert page.console_log.csp_violations() == []

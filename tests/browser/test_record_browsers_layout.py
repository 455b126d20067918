"""The record browsers at 1280 pixels in Chromium: a hundred rows of the longest values, every column
on the page, no sideways scrolling; and the all-tenants dashboard at the same width."""

import datetime
import uuid

import pytest

from telemetry.models import UsageRecord
from telemetry.policy import Client
from tenants import services
from tests.admin.conftest import census_record_create, error_report_create
from tests.browser.conftest import ARTIFACTS
from tests.conftest import COMMAND_ACTOR

# The longest values the fields take (telemetry/records.py bounds): a pool FQDN of 253 characters, an
# error code of 128 without a break, a federation partner of 253.
LONG_LABEL = "a" * 60
LONG_FQDN = ".".join([LONG_LABEL, LONG_LABEL, LONG_LABEL, "b" * 57, "com"])
LONG_CODE = "SIGNIN_" + "X" * 121

SCROLLS_SIDEWAYS = """() => {
    const table = document.querySelector('#changelist .results');
    return [document.documentElement.scrollWidth, window.innerWidth,
            table ? table.scrollWidth : 0, table ? table.clientWidth : 0];
}"""


@pytest.fixture
def long_records(contoso):
    pool = services.pool_create(tenant=contoso, fqdn=LONG_FQDN, site=None, actor=COMMAND_ACTOR)
    day = datetime.date(2026, 11, 20)
    for _ in range(100):
        error_report_create(tenant=contoso, pool=pool, error_code=LONG_CODE, thread="t" * 256, day=day)
        UsageRecord.objects.create(
            tenant=contoso,
            pool=pool,
            record_id=uuid.uuid4(),
            day=day,
            timestamp=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC),
            client=Client.MEETINGS_APP,
            ims_sent=2_147_483_647,
            ims_received=2_147_483_647,
            call_minutes=2_147_483_647,
            federation_partner=LONG_FQDN,
        )
        census_record_create(app_name="A" * 64, os_name="O" * 64, os_version="9" * 64, language="L" * 64, day=day)


@pytest.mark.parametrize("model", ["errorreport", "usagerecord", "censusrecord"])
def test_every_column_fits_at_1280_pixels(transactional_db, page, iago, long_records, sign_in, screenshot, model):
    sign_in(page, "iago")
    page.goto(f"/admin/telemetry/{model}/")
    assert page.locator("#result_list tbody tr").count() == 100
    page_width, window, table_width, table_box = page.evaluate(SCROLLS_SIDEWAYS)
    screenshot(page, f"record-browser-{model}-1280")
    page.screenshot(path=str(ARTIFACTS / f"record-browser-{model}-1280-top.png"))
    assert page_width <= window
    assert table_width <= table_box
    assert page.console_log.csp_violations() == []


def test_the_all_tenants_dashboard_fits_at_1280_pixels(transactional_db, page, iago, long_records, sign_in):
    sign_in(page, "iago")
    page.goto("/portal/dashboard/all/")
    assert page.get_by_role("heading", name="Tenants by volume").is_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.console_log.csp_violations() == []

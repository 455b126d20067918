"""The dashboard writes every date one way, ISO 8601 (2026-11-13): its tables, its period, its policy
changes and its charts alike, never "Nov. 13" beside "2026-11-13"."""

import re

from django.urls import reverse

from tenants import services
from tests.dashboard.test_dashboard import counts  # noqa: F401 - the fixture, with both tenants' counts

MONTH_NAMES = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.? \d{1,2}\b")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def test_every_date_on_the_dashboard_is_iso(client, hamlet, contoso, counts):  # noqa: F811 - the fixture
    services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=services.Actor.for_user(hamlet)
    )
    client.force_login(hamlet)
    text = client.get(reverse("dashboard")).text
    assert MONTH_NAMES.findall(text) == []
    svg = text.split('<svg class="chart"', 1)[1]
    # The charts' day axis, bar titles and markers name days as the tables do.
    assert ISO_DAY.search(svg.split("</svg>", 1)[0])
    assert ISO_DAY.search(text.split('id="ledger"', 1)[1])

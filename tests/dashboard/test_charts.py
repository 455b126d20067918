"""The server-rendered charts: policy-change labels stay inside the chart and name their day."""

import re
from datetime import date, timedelta

import pytest

from telemetry import charts

DAYS = [date(2026, 10, 23) + timedelta(days=offset) for offset in range(30)]
LABEL = "Usage data collection turned off by the set_cs_client_policy command"
TEXT_RE = re.compile(
    r'<g class="chart-marker"><title>[^<]*</title><line[^>]*/><text x="([\d.]+)" y="[\d.]+" '
    r'text-anchor="(start|end)">([^<]*)</text>'
)


@pytest.mark.parametrize("offset", [0, 9, 15, 22, 29])
def test_a_marker_label_names_its_day_and_stays_inside_the_chart(offset):
    day = DAYS[offset]
    svg = charts.stacked_bar_chart(
        chart_id="usage",
        title="Usage",
        description="Usage per day",
        days=DAYS,
        series=[charts.Series(name="Accepted", values=[1] * len(DAYS), css_class="series-accepted")],
        markers=[charts.Marker(day=day, label=LABEL)],
    )
    ((x, anchor, text),) = TEXT_RE.findall(str(svg))
    assert text == f"{day:%b} {day.day}: {LABEL}"
    width = len(text) * charts.CHAR_WIDTH
    left, right = (float(x), float(x) + width) if anchor == "start" else (float(x) - width, float(x))
    assert left >= 0
    assert right <= charts.WIDTH

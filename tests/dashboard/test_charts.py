"""The server-rendered charts: numbered policy-change markers never overlap, axes read as whole numbers."""

import itertools
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from django.utils import translation

from telemetry import charts

SVG = "{http://www.w3.org/2000/svg}"
DAYS = [date(2026, 10, 23) + timedelta(days=offset) for offset in range(30)]
YEAR = [date(2025, 12, 1) + timedelta(days=offset) for offset in range(366)]
LABEL = "Usage data collection turned off by the set_cs_client_policy command"


def _markers(days: list[date], count: int, *, spread: int) -> list[charts.Marker]:
    """count changes over spread days from the middle of the period (spread 1: all on one day)."""
    start = len(days) // 2 - spread // 2
    return [charts.Marker(day=days[start + index % spread], label=f"{LABEL} ({index})") for index in range(count)]


def _chart(days: list[date], markers: list[charts.Marker], values: list[int] | None = None, *, kind="bars"):
    draw = {
        "bars": charts.stacked_bar_chart,
        "line": charts.line_chart,
        "multiples": charts.small_multiples_chart,
    }[kind]
    series = [charts.Series(name="Accepted", values=values or [1] * len(days), css_class="series-accepted")]
    return ET.fromstring(  # noqa: S314 - our own SVG, not untrusted input
        str(
            draw(chart_id="c", title="Chart", description="Records per day.", days=days, series=series, markers=markers)
        )
    )


def _badges(svg: ET.Element) -> list[tuple[float, float, float, float, str]]:
    boxes = []
    for group in svg.iter(f"{SVG}g"):
        if group.get("class") != "chart-marker":
            continue
        rect = group.find(f"{SVG}rect")
        x, y = float(rect.get("x")), float(rect.get("y"))
        boxes.append((x, y, x + float(rect.get("width")), y + float(rect.get("height")), group.find(f"{SVG}text").text))
    return boxes


def _intersect(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


CASES = [
    pytest.param(days, count, spread, id=f"{len(days)}days-{count}changes-over-{spread}days")
    for days in (DAYS, YEAR)
    for count, spread in ((1, 1), (5, 1), (20, 1), (5, 5), (20, 20), (20, 2))
] + [pytest.param(YEAR, 366, 366, id="a-change-every-day-of-a-year")]


@pytest.mark.parametrize(("days", "count", "spread"), CASES)
@pytest.mark.parametrize("kind", ["bars", "line", "multiples"])
def test_marker_badges_never_overlap_and_stay_inside_the_chart(days, count, spread, kind):
    markers = (
        _markers(days, count, spread=spread)
        if spread < len(days)
        else [charts.Marker(day=day, label=LABEL) for day in days]
    )
    svg = _chart(days, markers, kind=kind)
    badges = _badges(svg)
    assert badges
    for index, badge in enumerate(badges):
        assert badge[0] >= charts.LEFT
        assert badge[2] <= charts.LEFT + charts.PLOT_WIDTH
        assert badge[1] >= 0
        assert badge[3] <= charts.TOP
        for other in badges[index + 1 :]:
            assert not _intersect(badge, other), (badge, other)
    # Every change is under one number, numbered 1, 2, 3... in time order.
    assert [badge[4] for badge in badges] == [str(number) for number in range(1, len(badges) + 1)]
    groups = charts.marker_groups(days, markers)
    assert sorted(marker.label for group in groups for marker in group.markers) == sorted(m.label for m in markers)


def test_changes_of_one_day_share_a_number_and_the_chart_says_what_each_number_is():
    markers = [charts.Marker(day=DAYS[3], label="Watson turned off"), charts.Marker(day=DAYS[3], label="Usage off")]
    svg = _chart(DAYS, [*markers, charts.Marker(day=DAYS[20], label="Usage on")])
    assert [badge[4] for badge in _badges(svg)] == ["1", "2"]
    description = svg.find(f"{SVG}desc").text
    assert f"1. {DAYS[3]}: Watson turned off; {DAYS[3]}: Usage off. 2. {DAYS[20]}: Usage on." in description


def test_a_change_outside_the_days_has_no_marker():
    assert charts.marker_groups(DAYS, [charts.Marker(day=DAYS[0] - timedelta(days=1), label=LABEL)]) == []
    assert _badges(_chart(DAYS, [charts.Marker(day=DAYS[-1] + timedelta(days=1), label=LABEL)])) == []


@pytest.mark.parametrize("maximum", [*range(0, 41), 47, 99, 100, 101, 333, 777, 999, 1001, 12_345, 987_654])
def test_ticks_are_distinct_whole_numbers_that_reach_the_maximum(maximum):
    ticks = charts.ticks(maximum)
    assert ticks[0] == 0
    assert ticks[-1] >= maximum
    assert all(isinstance(tick, int) for tick in ticks)
    steps = {later - earlier for earlier, later in itertools.pairwise(ticks)}
    assert len(steps) == 1
    assert 2 <= len(ticks) <= charts.MAX_TICK_STEPS + 1
    # A readable axis: not two thirds of it empty.
    assert maximum == 0 or ticks[-1] < maximum * 2.5 or ticks[-1] <= 2


@pytest.mark.parametrize(("maximum", "expected"), [(1, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8])])
def test_small_maxima_get_an_axis_of_whole_steps(maximum, expected):
    assert charts.ticks(maximum) == expected


@pytest.mark.parametrize("maximum", [1, 2, 3, 5, 7, 9, 13])
@pytest.mark.parametrize("kind", ["bars", "line", "multiples"])
def test_rendered_tick_labels_are_unique_integers(maximum, kind):
    values = [0] * len(DAYS)
    values[4] = maximum
    svg = _chart(DAYS, [], values, kind=kind)
    labels = [
        text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "chart-tick" and "-" not in text.text
    ]
    assert labels
    assert len(labels) == len(set(labels))
    assert all(label.replace(",", "").isdigit() for label in labels)
    assert str(maximum) in labels or int(labels[-1].replace(",", "")) > maximum


def test_small_multiples_give_each_series_its_own_axis():
    minutes = [1000 * (index + 1) for index in range(len(DAYS))]
    joins = [index % 4 for index in range(len(DAYS))]
    svg = ET.fromstring(  # noqa: S314 - our own SVG, not untrusted input
        str(
            charts.small_multiples_chart(
                chart_id="usage",
                title="Usage",
                description="Usage per day.",
                days=DAYS,
                series=[
                    charts.Series("Call minutes", minutes, "series-5"),
                    charts.Series("Meeting joins", joins, "series-3"),
                ],
                markers=[],
            )
        )
    )
    labels = [
        text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "chart-tick" and "-" not in text.text
    ]
    assert "30,000" in labels
    assert "3" in labels
    titles = [text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "chart-panel-title"]
    assert titles == ["Call minutes", "Meeting joins"]


def test_day_labels_use_the_pages_date_format():
    svg = _chart(DAYS, [])
    days = [text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "chart-tick" and "-" in text.text]
    assert days[0] == "2026-10-23"
    assert len(days) <= charts.MAX_X_LABELS


def test_day_labels_of_a_longer_date_format_are_fewer_and_never_touch():
    # Chinese dates ("2026年10月23日") are wider than ISO ones: eight of them would run into each other.
    with translation.override("zh-hans"):
        svg = _chart(DAYS, [])
    ticks = [
        (float(text.get("x")), text.text)
        for text in svg.iter(f"{SVG}text")
        if text.get("class") == "chart-tick" and "年" in text.text
    ]
    assert 2 <= len(ticks) < charts.MAX_X_LABELS
    for (x, label), (next_x, _) in itertools.pairwise(ticks):
        assert next_x - x >= charts._legend_text_width(label) + charts.X_LABEL_GAP / 2


def test_iso_day_labels_keep_eight_to_a_chart():
    svg = _chart([DAYS[0] + timedelta(days=offset) for offset in range(32)], [])
    days = [text.text for text in svg.iter(f"{SVG}text") if text.get("class") == "chart-tick" and "-" in text.text]
    assert len(days) == charts.MAX_X_LABELS

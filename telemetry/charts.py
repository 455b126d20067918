"""Server-rendered SVG charts for the dashboard.

Charts are drawn on the server so they are readable without JavaScript and ship no inline script or
style (the CSP allows neither): colours come from classes styled in telemetry/static/telemetry/
dashboard.css. Each chart is an image with a title and a description for screen readers, and the
page shows the same numbers in a table beside it.

Policy changes are drawn as numbered markers, never as sentences on the chart: however many changes a
period holds, a sentence per change cannot fit, whereas a small number can always be placed without
overlapping (changes too close to get their own number share their neighbour's). The page lists the
changes under the same numbers (`marker_groups`).
"""

import math
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

WIDTH = 760
HEIGHT = 330
LEFT = 64
RIGHT = 16
# Room above the plot for two rows of numbered policy-change markers, so they never hide a bar.
TOP = 46
MARKER_ROWS = 2
BOTTOM = 64
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
# ISO dates are about 66 pixels wide: eight of them fit under the plot with room between.
MAX_X_LABELS = 8
# The least room between two day labels on the time axis.
X_LABEL_GAP = 12
MAX_TICK_STEPS = 5
# Width of one character of a chart text (11px bold, dashboard.css), generously rounded up.
CHAR_WIDTH = 7.2
# A legend label's character: a Latin one, and a wide one (Chinese), which takes about a full em.
LEGEND_CHAR_WIDTH = 7
LEGEND_WIDE_CHAR_WIDTH = 12
MARKER_HEIGHT = 16
MARKER_GAP = 3
# Small multiples: one panel per series, each with its own axis, for series of unlike magnitudes.
PANEL_HEIGHT = 64
PANEL_GAP = 30
PANEL_TICK_STEPS = 3


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]
    css_class: str


@dataclass(frozen=True)
class Marker:
    """A policy change drawn on the time axis: a vertical line on its day and a numbered badge."""

    day: date
    label: str


@dataclass
class MarkerGroup:
    """The policy changes that share one numbered badge: those of one day, or of days too close to
    number apart. `left`, `right`, `top` and `bottom` are the badge's box in the chart's coordinates."""

    number: int
    markers: list[Marker] = field(default_factory=list)
    left: float = 0
    right: float = 0
    top: float = 0
    bottom: float = 0

    @property
    def days(self) -> list[date]:
        return sorted({marker.day for marker in self.markers})

    @property
    def text(self) -> str:
        return str(self.number)

    @property
    def description(self) -> str:
        return "; ".join(f"{day_label(marker.day)}: {marker.label}" for marker in self.markers)


def day_label(day: date) -> str:
    """The dashboard's one date format, in its tables and on its charts alike: the language's short
    date (ISO for English, portal/formats/en)."""
    return date_format(day, "SHORT_DATE_FORMAT")


def number_label(value: int) -> str:
    """A count as the language groups its digits ("30,000" in English), on the charts and in their
    descriptions as in the tables beside them (humanize's intcomma)."""
    return number_format(value, force_grouping=True)


def _legend_text_width(text: str) -> int:
    return sum(
        LEGEND_WIDE_CHAR_WIDTH if unicodedata.east_asian_width(char) in "WF" else LEGEND_CHAR_WIDTH for char in text
    )


def tick_step(maximum: int, *, max_steps: int = MAX_TICK_STEPS) -> int:
    """The smallest integer 1, 2 or 5 times a power of ten that reaches maximum in max_steps steps."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude * max_steps >= maximum:
                return step * magnitude
        magnitude *= 10


def ticks(maximum: int, *, max_steps: int = MAX_TICK_STEPS) -> list[int]:
    """The axis' ticks from 0: whole, distinct, evenly spaced numbers; the last is at least maximum."""
    step = tick_step(maximum, max_steps=max_steps)
    count = max(1, math.ceil(max(maximum, 0) / step))
    return [step * index for index in range(count + 1)]


def nice_maximum(value: int) -> int:
    """The top of the axis for this largest value."""
    return ticks(value)[-1]


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class _Frame:
    """Where a plot stands in the chart: its top edge and its height (the width is always the same)."""

    top: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def y(self, value: float, maximum: int) -> float:
        return self.bottom - (value / maximum) * self.height


def _band(days: list[date]) -> float:
    return PLOT_WIDTH / max(len(days), 1)


def _value_axis(frame: _Frame, axis: list[int]) -> list[str]:
    parts = ['<g class="chart-axes" aria-hidden="true">']
    for value in axis:
        y = frame.y(value, axis[-1])
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{LEFT + PLOT_WIDTH}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(
            f'<text class="chart-tick" x="{LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end">{number_label(value)}</text>'
        )
    parts.append(
        f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT + PLOT_WIDTH}" y1="{_fmt(frame.bottom)}" '
        f'y2="{_fmt(frame.bottom)}"/>'
    )
    parts.append("</g>")
    return parts


def _day_axis(days: list[date], frame: _Frame) -> list[str]:
    band = _band(days)
    parts = ['<g class="chart-axes" aria-hidden="true">']
    labels = [day_label(day) for day in days]
    # As many labels as fit side by side: eight ISO dates, fewer of a language's longer dates (Chinese).
    widest = max(map(_legend_text_width, labels), default=0)
    fitting = max(2, min(MAX_X_LABELS, PLOT_WIDTH // (widest + X_LABEL_GAP)))
    every = max(1, -(-len(days) // fitting))
    for index, label in enumerate(labels):
        if index % every:
            continue
        x = LEFT + band * (index + 0.5)
        parts.append(
            f'<text class="chart-tick" x="{_fmt(x)}" y="{_fmt(frame.bottom + 16)}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append("</g>")
    return parts


def _legend(series: list[Series], *, height: int) -> list[str]:
    parts = ['<g class="chart-legend">']
    x = LEFT
    y = height - 18
    for item in series:
        parts.append(f'<rect class="{escape(item.css_class)}" x="{x}" y="{y - 9}" width="12" height="12"/>')
        parts.append(f'<text class="chart-legend-label" x="{x + 16}" y="{y + 1}">{escape(item.name)}</text>')
        x += 16 + _legend_text_width(str(item.name)) + 20
    parts.append("</g>")
    return parts


def marker_groups(days: list[date], markers: list[Marker]) -> list[MarkerGroup]:
    """Number the policy changes of the period and place their badges above the plot.

    Each day with changes gets the next number, its badge centred over the day's line (kept inside
    the plot) in the first row where it clears the badges already placed; a day whose badge fits in
    no row joins the previous number. Badges therefore never overlap, whatever the number of changes.
    """
    band = _band(days)
    index_of = {day: index for index, day in enumerate(days)}
    groups: list[MarkerGroup] = []
    row_right = [-math.inf] * MARKER_ROWS
    for marker in sorted((m for m in markers if m.day in index_of), key=lambda m: m.day):
        if groups and groups[-1].markers[-1].day == marker.day:
            groups[-1].markers.append(marker)
            continue
        number = len(groups) + 1
        width = len(str(number)) * CHAR_WIDTH + 8
        x = LEFT + band * (index_of[marker.day] + 0.5)
        left = min(max(x - width / 2, LEFT), LEFT + PLOT_WIDTH - width)
        row = next((row for row, right in enumerate(row_right) if left >= right + MARKER_GAP), None)
        if row is None:
            groups[-1].markers.append(marker)
            continue
        row_right[row] = left + width
        top = 4 + row * (MARKER_HEIGHT + 4)
        groups.append(MarkerGroup(number, [marker], left=left, right=left + width, top=top, bottom=top + MARKER_HEIGHT))
    return groups


def _markers(days: list[date], markers: list[Marker], frames: list[_Frame]) -> list[str]:
    band = _band(days)
    index_of = {day: index for index, day in enumerate(days)}
    parts = []
    for group in marker_groups(days, markers):
        title = escape(
            gettext("Policy change %(number)s: %(changes)s") % {"number": group.number, "changes": group.description}
        )
        parts.append(f'<g class="chart-marker"><title>{title}</title>')
        for day in group.days:
            x = _fmt(LEFT + band * (index_of[day] + 0.5))
            for frame in frames:
                parts.append(f'<line x1="{x}" x2="{x}" y1="{_fmt(frame.top)}" y2="{_fmt(frame.bottom)}"/>')
        first_x = LEFT + band * (index_of[group.days[0]] + 0.5)
        centre = (group.left + group.right) / 2
        parts.append(
            f'<line class="chart-marker-lead" x1="{_fmt(centre)}" x2="{_fmt(first_x)}" '
            f'y1="{_fmt(group.bottom)}" y2="{_fmt(frames[0].top)}"/>'
            f'<rect class="chart-marker-badge" x="{_fmt(group.left)}" y="{_fmt(group.top)}" '
            f'width="{_fmt(group.right - group.left)}" height="{MARKER_HEIGHT}" rx="3"/>'
            f'<text x="{_fmt(centre)}" y="{_fmt(group.bottom - 4)}" text-anchor="middle">{group.text}</text></g>'
        )
    return parts


def _svg(*, chart_id: str, title: str, description: str, body: list[str], height: int = HEIGHT) -> SafeString:
    chart_id = escape(chart_id)
    head = (
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every interpolated text is escaped


def _empty(days: list[date], *, height: int = HEIGHT) -> list[str]:
    if days:
        return []
    words = escape(gettext("No days"))
    return [f'<text class="chart-empty" x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle">{words}</text>']


def _marker_words(days: list[date], markers: list[Marker]) -> str:
    groups = marker_groups(days, markers)
    if not groups:
        return ""
    changes = " ".join(f"{group.number}. {group.description}." for group in groups)
    return " " + gettext("Numbered markers show policy changes: %(changes)s") % {"changes": changes}


def stacked_bar_chart(
    *, chart_id: str, title: str, description: str, days: list[date], series: list[Series], markers: list[Marker]
) -> SafeString:
    """One bar per day, its series stacked bottom-up in the order given."""
    frame = _Frame(TOP, PLOT_HEIGHT)
    totals = [sum(item.values[index] for item in series) for index in range(len(days))]
    axis = ticks(max(totals, default=0))
    band = _band(days)
    bar_width = max(band * 0.7, 1)
    body = _value_axis(frame, axis) + _day_axis(days, frame)
    body.append('<g class="chart-bars">')
    for index, day in enumerate(days):
        x = LEFT + band * index + (band - bar_width) / 2
        base = 0
        for item in series:
            value = item.values[index]
            if not value:
                continue
            y_top = frame.y(base + value, axis[-1])
            height = frame.y(base, axis[-1]) - y_top
            label = escape(f"{day_label(day)}: {item.name} {number_label(value)}")
            body.append(
                f'<rect class="{escape(item.css_class)}" x="{_fmt(x)}" y="{_fmt(y_top)}" '
                f'width="{_fmt(bar_width)}" height="{_fmt(max(height, 0.5))}"><title>{label}</title></rect>'
            )
            base += value
    body.append("</g>")
    body += _markers(days, markers, [frame])
    body += _legend(series, height=HEIGHT)
    body += _empty(days)
    return _svg(chart_id=chart_id, title=title, description=description + _marker_words(days, markers), body=body)


def _line(frame: _Frame, maximum: int, days: list[date], item: Series) -> list[str]:
    band = _band(days)
    points = [(LEFT + band * (index + 0.5), frame.y(value, maximum)) for index, value in enumerate(item.values)]
    parts = [f'<g class="chart-line {escape(item.css_class)}">']
    if len(points) > 1:
        path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
        parts.append(f'<polyline points="{path}"/>')
    for (x, y), day, value in zip(points, days, item.values, strict=True):
        label = escape(f"{day_label(day)}: {item.name} {number_label(value)}")
        parts.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="2.5"><title>{label}</title></circle>')
    parts.append("</g>")
    return parts


def line_chart(
    *, chart_id: str, title: str, description: str, days: list[date], series: list[Series], markers: list[Marker]
) -> SafeString:
    """One line per series over the days, with a dot on every day, on one shared axis."""
    frame = _Frame(TOP, PLOT_HEIGHT)
    axis = ticks(max((value for item in series for value in item.values), default=0))
    body = _value_axis(frame, axis) + _day_axis(days, frame)
    for item in series:
        body += _line(frame, axis[-1], days, item)
    body += _markers(days, markers, [frame])
    body += _legend(series, height=HEIGHT)
    body += _empty(days)
    return _svg(chart_id=chart_id, title=title, description=description + _marker_words(days, markers), body=body)


def small_multiples_chart(
    *, chart_id: str, title: str, description: str, days: list[date], series: list[Series], markers: list[Marker]
) -> SafeString:
    """One small line chart per series, one above the other on the same days, each on its own axis:
    series of very different magnitudes (minutes of calls beside a few meeting joins) all stay readable."""
    frames = [
        _Frame(TOP + PANEL_GAP + index * (PANEL_HEIGHT + PANEL_GAP), PANEL_HEIGHT) for index in range(len(series))
    ]
    height = int((frames[-1].bottom if frames else TOP) + 40)
    body: list[str] = []
    for frame, item in zip(frames, series, strict=True):
        axis = ticks(max(item.values, default=0), max_steps=PANEL_TICK_STEPS)
        body += _value_axis(frame, axis)
        body.append(f'<text class="chart-panel-title" x="{LEFT}" y="{_fmt(frame.top - 10)}">{escape(item.name)}</text>')
        body += _line(frame, axis[-1], days, item)
    if frames:
        body += _day_axis(days, frames[-1])
    body += _markers(days, markers, frames)
    body += _empty(days, height=height)
    return _svg(
        chart_id=chart_id,
        title=title,
        description=description + _marker_words(days, markers),
        body=body,
        height=height,
    )

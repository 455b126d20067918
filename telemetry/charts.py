"""Server-rendered SVG charts for the dashboard.

Charts are drawn on the server so they are readable without JavaScript and ship no inline script or
style (the CSP allows neither): colours come from classes styled in telemetry/static/telemetry/
dashboard.css. Each chart is an image with a title and a description for screen readers, and the
page shows the same numbers in a table beside it.
"""

from dataclasses import dataclass
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 760
HEIGHT = 330
LEFT = 64
RIGHT = 16
# Room above the plot for two rows of policy-change labels, so they never hide a bar.
TOP = 46
MARKER_ROWS = 2
BOTTOM = 64
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 10
MARKER_LINE_HEIGHT = 14
# Width of one character of a marker label (11px bold, dashboard.css), generously rounded up, to keep
# a label inside the chart.
CHAR_WIDTH = 7.2


@dataclass(frozen=True)
class Series:
    name: str
    values: list[int]
    css_class: str


@dataclass(frozen=True)
class Marker:
    """A policy change drawn on the time axis: a vertical line on its day and a label."""

    day: date
    label: str


def day_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def nice_maximum(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten that is at least value (the axis' top)."""
    if value <= 0:
        return 1
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover - the loop always returns


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _y(value: float, top: int) -> float:
    return TOP + PLOT_HEIGHT - (value / top) * PLOT_HEIGHT


def _axes(days: list[date], top: int, band: float) -> list[str]:
    parts = ['<g class="chart-axes" aria-hidden="true">']
    # 2 x 10^k splits into quarters, 1 and 5 x 10^k into fifths: every tick is a round number.
    steps = 4 if str(top)[0] == "2" else 5
    steps = min(steps, top)
    for step in range(steps + 1):
        value = top * step / steps
        y = _y(value, top)
        parts.append(f'<line class="chart-grid" x1="{LEFT}" x2="{LEFT + PLOT_WIDTH}" y1="{_fmt(y)}" y2="{_fmt(y)}"/>')
        parts.append(
            f'<text class="chart-tick" x="{LEFT - 6}" y="{_fmt(y + 4)}" text-anchor="end">{int(value):,}</text>'
        )
    every = max(1, -(-len(days) // MAX_X_LABELS))
    for index, day in enumerate(days):
        if index % every:
            continue
        x = LEFT + band * (index + 0.5)
        parts.append(
            f'<text class="chart-tick" x="{_fmt(x)}" y="{TOP + PLOT_HEIGHT + 16}" text-anchor="middle">'
            f"{escape(day_label(day))}</text>"
        )
    parts.append(
        f'<line class="chart-axis" x1="{LEFT}" x2="{LEFT + PLOT_WIDTH}" '
        f'y1="{TOP + PLOT_HEIGHT}" y2="{TOP + PLOT_HEIGHT}"/>'
    )
    parts.append("</g>")
    return parts


def _legend(series: list[Series]) -> list[str]:
    parts = ['<g class="chart-legend">']
    x = LEFT
    y = HEIGHT - 18
    for item in series:
        parts.append(f'<rect class="{escape(item.css_class)}" x="{x}" y="{y - 9}" width="12" height="12"/>')
        parts.append(f'<text class="chart-legend-label" x="{x + 16}" y="{y + 1}">{escape(item.name)}</text>')
        x += 16 + int(len(item.name) * 7) + 20
    parts.append("</g>")
    return parts


def _markers(days: list[date], markers: list[Marker], band: float) -> list[str]:
    index_of = {day: index for index, day in enumerate(days)}
    parts = []
    row = 0
    for marker in markers:
        if marker.day not in index_of:
            continue
        x = LEFT + band * (index_of[marker.day] + 0.5)
        label_y = 14 + row * MARKER_LINE_HEIGHT
        row = (row + 1) % MARKER_ROWS
        # Keep the label inside the plot: right of the line in the left half, left of it otherwise.
        # The label starts with its day: a label drawn left of its line must not seem to belong to
        # the line it ends near.
        text = escape(f"{day_label(marker.day)}: {marker.label}")
        width = len(text) * CHAR_WIDTH
        if x + 4 + width <= LEFT + PLOT_WIDTH:
            anchor, label_x = "start", x + 4
        elif x - 4 - width >= 0:
            anchor, label_x = "end", x - 4
        else:  # fits on neither side of its line: flush with the plot's right edge, inside the chart
            anchor, label_x = "end", LEFT + PLOT_WIDTH
        parts.append(
            f'<g class="chart-marker"><title>{text}</title>'
            f'<line x1="{_fmt(x)}" x2="{_fmt(x)}" y1="{label_y + 4}" y2="{TOP + PLOT_HEIGHT}"/>'
            f'<text x="{_fmt(label_x)}" y="{label_y}" text-anchor="{anchor}">{text}</text></g>'
        )
    return parts


def _svg(*, chart_id: str, title: str, description: str, body: list[str]) -> SafeString:
    chart_id = escape(chart_id)
    head = (
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308 - every interpolated text is escaped


def _empty(days: list[date]) -> list[str]:
    if days:
        return []
    return [f'<text class="chart-empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No days</text>']


def stacked_bar_chart(
    *, chart_id: str, title: str, description: str, days: list[date], series: list[Series], markers: list[Marker]
) -> SafeString:
    """One bar per day, its series stacked bottom-up in the order given."""
    totals = [sum(item.values[index] for item in series) for index in range(len(days))]
    top = nice_maximum(max(totals, default=0))
    band = PLOT_WIDTH / max(len(days), 1)
    bar_width = max(band * 0.7, 1)
    body = _axes(days, top, band)
    body.append('<g class="chart-bars">')
    for index, day in enumerate(days):
        x = LEFT + band * index + (band - bar_width) / 2
        base = 0
        for item in series:
            value = item.values[index]
            if not value:
                continue
            y_top = _y(base + value, top)
            height = _y(base, top) - y_top
            label = escape(f"{day_label(day)}: {item.name} {value:,}")
            body.append(
                f'<rect class="{escape(item.css_class)}" x="{_fmt(x)}" y="{_fmt(y_top)}" '
                f'width="{_fmt(bar_width)}" height="{_fmt(max(height, 0.5))}"><title>{label}</title></rect>'
            )
            base += value
    body.append("</g>")
    body += _markers(days, markers, band)
    body += _legend(series)
    body += _empty(days)
    return _svg(chart_id=chart_id, title=title, description=description, body=body)


def line_chart(
    *, chart_id: str, title: str, description: str, days: list[date], series: list[Series], markers: list[Marker]
) -> SafeString:
    """One line per series over the days, with a dot on every day."""
    top = nice_maximum(max((value for item in series for value in item.values), default=0))
    band = PLOT_WIDTH / max(len(days), 1)
    body = _axes(days, top, band)
    for item in series:
        points = [(LEFT + band * (index + 0.5), _y(value, top)) for index, value in enumerate(item.values)]
        css_class = escape(item.css_class)
        body.append(f'<g class="chart-line {css_class}">')
        if len(points) > 1:
            path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
            body.append(f'<polyline points="{path}"/>')
        for (x, y), day, value in zip(points, days, item.values, strict=True):
            label = escape(f"{day_label(day)}: {item.name} {value:,}")
            body.append(f'<circle cx="{_fmt(x)}" cy="{_fmt(y)}" r="2.5"><title>{label}</title></circle>')
        body.append("</g>")
    body += _markers(days, markers, band)
    body += _legend(series)
    body += _empty(days)
    return _svg(chart_id=chart_id, title=title, description=description, body=body)

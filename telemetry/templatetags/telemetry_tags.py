"""Template filters of the dashboard."""

from django import template

from telemetry.records import USAGE_COUNTER_NAMES

register = template.Library()


@register.filter
def usage_counters(row: dict) -> list[int]:
    """A usage row's counters in the order of USAGE_COUNTERS (telemetry/records.py), for table cells."""
    return [row[name] or 0 for name in USAGE_COUNTER_NAMES]

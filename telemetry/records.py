"""The record layout, said once: the bounds of what a client may send, the usage counters and their
labels, and the columns each category is stored in. Models, request schemas, storage, the dashboard,
its CSV and the record browsers read them from here. Part of the ground floor
(tests/test_architecture.py).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext_lazy as _

from telemetry.names import FQDN_MAX_LENGTH

# Bounds of the string fields a client may send (the README lists them for client authors).
SHORT = 64
NAME = 128
FQDN = FQDN_MAX_LENGTH
THREAD_ID = 256
ERROR_LOG = 32 * 1024


# Retention of records, in days after a record's day (lifecycle.md): Skype for Business Server's own
# default and bounds (KeepErrorReportForDays, KeepCallDetailForDays).
RETENTION_DEFAULT_DAYS = 60
RETENTION_BOUNDS = (1, 2562)


def oldest_kept_day(*, today: date, retention_days: int) -> date:
    """The oldest day a record kept for `retention_days` may have: a record is expired when its day is
    older than today minus its retention (lifecycle.md), so this day itself is still kept."""
    return today - timedelta(days=retention_days)


@dataclass(frozen=True)
class Counter:
    """A counter of usage records: its field (in requests, records and daily sums) and its label."""

    name: str
    label: str


USAGE_COUNTERS = (
    Counter("ims_sent", _("IMs sent")),
    Counter("ims_received", _("IMs received")),
    Counter("meeting_join_attempts", _("Meeting joins attempted")),
    Counter("meeting_join_successes", _("Meeting joins succeeded")),
    Counter("call_minutes", _("Call minutes")),
)
USAGE_COUNTER_NAMES = tuple(counter.name for counter in USAGE_COUNTERS)

# The columns of each record table as ingestion writes them, in the order of its row tuples
# (telemetry/services.py builds them; telemetry/storage.py copies them). A census row's id is a random
# uuid4 made at ingestion; the other tables number their rows themselves.
CENSUS_COLUMNS = (
    "id",
    "day",
    "timestamp",
    "client",
    "app_name",
    "device_model",
    "os_name",
    "os_version",
    "user_language",
    "user_hash",
    "device_id",
    "sign_in_attempts",
    "sign_in_failures",
)
# What every record of a tenant starts with: whose, from which pool, the client's id, when, which client.
TENANT_RECORD_COLUMNS = ("tenant_id", "pool_id", "record_id", "day", "timestamp", "client")
USAGE_COLUMNS = (*TENANT_RECORD_COLUMNS, *USAGE_COUNTER_NAMES, "federation_partner")
ERROR_COLUMNS = (
    *TENANT_RECORD_COLUMNS,
    "user_hash",
    "message_direction",
    "conversation_state",
    "conversation_thread_id",
    "error_code",
    "error_log",
    "ip_network",
    "sip_uri_hash",
    "os_name",
    "crash",
)

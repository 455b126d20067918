"""The one place that decides whether a telemetry record may be stored, and why.

Pure: no database, no settings, no clock. Callers gather the facts (the tenant's client policy, the
pool's web service configurations, the user's opt-in) and pass them in; the answer carries the reason
code of api.md and a sentence a person can read. Nothing else in the code re-decides this.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.db import models


class Category(models.TextChoices):
    CENSUS = "census", "Census"
    USAGE = "usage", "Usage"
    ERROR = "error", "Error report"


class Client(models.TextChoices):
    DESKTOP = "desktop", "Desktop client"
    MOBILE = "mobile", "Mobile client"
    WEB = "web", "Web client"
    MEETINGS_APP = "meetings_app", "Meetings App"
    JOIN_LAUNCHER = "join_launcher", "Join launcher"


MEETING_CLIENTS = frozenset({Client.MEETINGS_APP, Client.JOIN_LAUNCHER})


class DropReason(models.TextChoices):
    USAGE_COLLECTION_DISABLED = "usage_collection_disabled", "Usage data collection is off"
    USER_NOT_OPTED_IN = "user_not_opted_in", "The user has not opted in to error reporting"
    MEETING_UX_TELEMETRY_DISABLED = "meeting_ux_telemetry_disabled", "Meetings App telemetry is off"
    WATSON_DISABLED = "watson_disabled", "Windows crash uploads are off"


# The default of MeetingUxEnableTelemetry where no configuration applies (domain.md).
MEETING_UX_DEFAULT = False
DEFAULT_IDENTITY = "default"
GLOBAL_IDENTITY = "Global"


def site_identity(site_name: str) -> str:
    return f"Site:{site_name}"


def service_identity(pool_fqdn: str) -> str:
    return f"Service:WebServer:{pool_fqdn}"


@dataclass(frozen=True)
class TenantPolicy:
    """A tenant's organization-wide settings, as the decision needs them."""

    disable_automatic_send_tracing: bool = False
    watson_enabled: bool = True


@dataclass(frozen=True)
class MeetingUxSetting:
    """The effective MeetingUxEnableTelemetry of a pool and the scope that decided it."""

    enabled: bool
    identity: str

    @property
    def explanation(self) -> str:
        if self.identity == DEFAULT_IDENTITY:
            return f"MeetingUxEnableTelemetry {self.enabled} (default; no configuration applies)"
        return f"MeetingUxEnableTelemetry {self.enabled} at {self.identity}"


def resolve_meeting_ux(
    *,
    configurations: Mapping[str, bool],
    pool_fqdn: str | None,
    site_name: str | None,
) -> MeetingUxSetting:
    """The most specific configuration that exists wins: service > site > global > default.

    `configurations` maps identities ("Global", "Site:<name>", "Service:WebServer:<fqdn>") to their
    MeetingUxEnableTelemetry value; only those of one tenant.
    """
    candidates = []
    if pool_fqdn:
        candidates.append(service_identity(pool_fqdn))
    if site_name:
        candidates.append(site_identity(site_name))
    candidates.append(GLOBAL_IDENTITY)
    for identity in candidates:
        if identity in configurations:
            return MeetingUxSetting(enabled=configurations[identity], identity=identity)
    return MeetingUxSetting(enabled=MEETING_UX_DEFAULT, identity=DEFAULT_IDENTITY)


@dataclass(frozen=True)
class Decision:
    stored: bool
    reason: DropReason | None
    explanation: str


def decide(
    *,
    category: Category | str,
    client: Client | str,
    tenant_policy: TenantPolicy,
    meeting_ux: MeetingUxSetting | None = None,
    user_opted_in: bool = False,
    windows_crash: bool = False,
) -> Decision:
    """May a record of this category from this client be stored? (domain.md, "The decision, per record")

    `meeting_ux` is the effective setting of the pool hosting the meeting; it is only consulted for
    the Meetings App and the join launcher, and treated as the default (off) when missing.
    """
    category = Category(category)
    client = Client(client)

    if category == Category.CENSUS:
        return Decision(True, None, "census data is always collected")

    if client in MEETING_CLIENTS:
        if category == Category.ERROR and windows_crash:
            if tenant_policy.watson_enabled:
                return Decision(True, None, "Windows crash uploads follow the Watson setting, which is on")
            return Decision(
                False, DropReason.WATSON_DISABLED, "Windows crash uploads follow the Watson setting, which is off"
            )
        setting = meeting_ux or MeetingUxSetting(enabled=MEETING_UX_DEFAULT, identity=DEFAULT_IDENTITY)
        if setting.enabled:
            return Decision(True, None, setting.explanation)
        return Decision(False, DropReason.MEETING_UX_TELEMETRY_DISABLED, setting.explanation)

    if tenant_policy.disable_automatic_send_tracing:
        return Decision(
            False,
            DropReason.USAGE_COLLECTION_DISABLED,
            "DisableAutomaticSendTracing is True: usage data and error reporting are off for the organization",
        )
    if category == Category.USAGE:
        return Decision(True, None, "DisableAutomaticSendTracing is False")
    if user_opted_in:
        return Decision(True, None, "DisableAutomaticSendTracing is False and the user has opted in")
    return Decision(False, DropReason.USER_NOT_OPTED_IN, "the user has not opted in to error reporting")


# --- The policy in words. Every sentence that tells a person what is collected is derived here, from
# `decide` itself, so that what the API, the dashboard and the admin say cannot drift from what is stored.


def on_off(value: bool) -> str:
    return "On" if value else "Off"


def explain_usage(policy: TenantPolicy) -> str:
    """The `explain.usage` sentence of GET /api/v1/policy (api.md).

    The tenant record does not remember whether False was ever set explicitly, so False, the default,
    is "(tenant default)" as in api.md's example, and True can only have been set by the tenant.
    """
    if policy.disable_automatic_send_tracing:
        return "DisableAutomaticSendTracing is True (set by the tenant)"
    return "DisableAutomaticSendTracing is False (tenant default)"


def explain_error_reporting(policy: TenantPolicy, user_id: str | None, opted_in: bool) -> str:
    """The `explain.error_reporting` sentence of GET /api/v1/policy; `user_id` is the one the client
    sent (echoed to that client only, never stored)."""
    decision = decide(category=Category.ERROR, client=Client.DESKTOP, tenant_policy=policy, user_opted_in=opted_in)
    if decision.reason == DropReason.USAGE_COLLECTION_DISABLED:
        return "DisableAutomaticSendTracing is True: error reporting is off for the organization"
    if not user_id:
        return "no user given: error reporting needs the user's own opt-in"
    return f"user {user_id} has opted in" if opted_in else f"user {user_id} has not opted in"


def _desktop_usage_stored(policy: TenantPolicy) -> bool:
    return decide(category=Category.USAGE, client=Client.DESKTOP, tenant_policy=policy).stored


def _opted_in_error_reports_stored(policy: TenantPolicy) -> bool:
    return decide(category=Category.ERROR, client=Client.DESKTOP, tenant_policy=policy, user_opted_in=True).stored


def _windows_crashes_stored(policy: TenantPolicy) -> bool:
    return decide(category=Category.ERROR, client=Client.MEETINGS_APP, tenant_policy=policy, windows_crash=True).stored


def client_policy_summary(policy: TenantPolicy) -> list[tuple[str, str]]:
    """A tenant's organization-wide settings as (setting, value) lines, as the dashboard shows them."""
    return [
        ("Usage data collection", on_off(_desktop_usage_stored(policy))),
        (
            "Error reporting",
            "On for users who opted in"
            if _opted_in_error_reports_stored(policy)
            else "Off (usage data collection is off)",
        ),
        ("Windows crash uploads from the Meetings App", on_off(_windows_crashes_stored(policy))),
    ]


def stops_collection(old: TenantPolicy, new: TenantPolicy) -> list[str]:
    """What changing the organization-wide settings from `old` to `new` stops collecting, in words;
    empty when it stops nothing (a change that only turns collection on needs no confirmation)."""
    stops = []
    if _desktop_usage_stored(old) and not _desktop_usage_stored(new):
        stops.append("Usage data and error reports stop for every user of the organization.")
    if _windows_crashes_stored(old) and not _windows_crashes_stored(new):
        stops.append("Windows crash uploads from the Meetings App stop.")
    return stops

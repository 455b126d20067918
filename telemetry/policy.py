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

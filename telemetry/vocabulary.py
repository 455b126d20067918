"""The domain's closed sets, each said once: categories, clients, outcomes, drop reasons, scopes and
their identities, audit actions.

Part of the ground floor (see tests/test_architecture.py): imported by both apps, importing neither.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Category(models.TextChoices):
    CENSUS = "census", _("Census")
    USAGE = "usage", pgettext_lazy("data category", "Usage")
    ERROR = "error", _("Error reports")


class Client(models.TextChoices):
    DESKTOP = "desktop", _("Desktop client")
    MOBILE = "mobile", _("Mobile client")
    WEB = "web", _("Web client")
    MEETINGS_APP = "meetings_app", _("Meetings App")
    JOIN_LAUNCHER = "join_launcher", _("Join launcher")


# The clients whose telemetry follows MeetingUxEnableTelemetry instead of the client policy.
MEETING_CLIENTS = frozenset({Client.MEETINGS_APP, Client.JOIN_LAUNCHER})


class MessageDirection(models.TextChoices):
    INCOMING = "incoming", _("Incoming")
    OUTGOING = "outgoing", _("Outgoing")


class Outcome(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    DROPPED = "dropped", _("Dropped by policy")
    REJECTED = "rejected", _("Rejected as malformed")
    DUPLICATE = "duplicate", _("Duplicate")


class DropReason(models.TextChoices):
    USAGE_COLLECTION_DISABLED = "usage_collection_disabled", _("Usage data collection is off")
    USER_NOT_OPTED_IN = "user_not_opted_in", _("The user has not opted in to error reporting")
    MEETING_UX_TELEMETRY_DISABLED = "meeting_ux_telemetry_disabled", _("Meetings App telemetry is off")
    WATSON_DISABLED = "watson_disabled", _("Windows crash uploads are off")
    EXPIRED = "expired", _("Older than the retention")


# Ledger values (api.md): a rejected record whose category or client is not a known one counts under
# UNKNOWN, and every rejected record under the reason INVALID_REASON.
UNKNOWN = "unknown"
INVALID_REASON = "invalid"


class ScopeKind(models.TextChoices):
    """The scopes of Set-CsWebServiceConfiguration."""

    GLOBAL = "global", _("Global")
    SITE = "site", _("Site")
    SERVICE = "service", _("Pool (Service:WebServer)")


# Identities, as the cmdlets spell them: "Global", "Site:<site name>", "Service:WebServer:<pool FQDN>".
GLOBAL_IDENTITY = "Global"
SITE_PREFIX = "Site:"
SERVICE_PREFIX = "Service:WebServer:"
# What decided a pool's MeetingUxEnableTelemetry when no configuration applies.
DEFAULT_IDENTITY = "default"


def site_identity(site_name: str) -> str:
    return f"{SITE_PREFIX}{site_name}"


def service_identity(pool_fqdn: str) -> str:
    return f"{SERVICE_PREFIX}{pool_fqdn}"


def scope_identity(kind: str, *, site_name: str | None = None, pool_fqdn: str | None = None) -> str:
    """The identity of a configuration at `kind`, naming its site or pool."""
    if kind == ScopeKind.SITE:
        return site_identity(site_name)
    if kind == ScopeKind.SERVICE:
        return service_identity(pool_fqdn)
    return GLOBAL_IDENTITY


def parse_identity(identity: str) -> tuple[ScopeKind, str] | None:
    """(kind, site name or pool FQDN as typed) of an -Identity, or None when it is not one.

    The words are case-insensitive as in PowerShell; the name after them is kept as typed.
    """
    value = identity.strip()
    if value.lower() == GLOBAL_IDENTITY.lower():
        return ScopeKind.GLOBAL, ""
    head, _, rest = value.partition(":")
    if head.lower() == "site" and rest:
        return ScopeKind.SITE, rest
    service, _, fqdn = rest.partition(":")
    if head.lower() == "service" and service.lower() == "webserver" and fqdn:
        return ScopeKind.SERVICE, fqdn
    return None


class AuditAction(models.TextChoices):
    CREATE_TENANT = "create_tenant", _("Organization created")
    CREATE_SITE = "create_site", _("Site added")
    CREATE_POOL = "create_pool", _("Pool added")
    SET_CLIENT_POLICY = "set_client_policy", _("Usage data collection changed")
    SET_WATSON = "set_watson", _("Windows crash uploads changed")
    CREATE_WEB_SERVICE_CONFIGURATION = "create_web_service_configuration", _("Meetings App setting added")
    SET_WEB_SERVICE_CONFIGURATION = "set_web_service_configuration", _("Meetings App setting changed")
    REMOVE_WEB_SERVICE_CONFIGURATION = "remove_web_service_configuration", _("Meetings App setting removed")
    CREATE_INGESTION_KEY = "create_ingestion_key", _("Ingestion key created")
    REVOKE_INGESTION_KEY = "revoke_ingestion_key", _("Ingestion key revoked")
    CREATE_PORTAL_USER = "create_portal_user", _("Sign-in created")
    ERASE_END_USER = "erase_end_user", _("A user's data erased")
    SET_ERASE_ON_OPT_OUT = "set_erase_on_opt_out", _("Erasure on opt-out changed")
    SET_RETENTION = "set_retention", _("Retention changed")
    EXPORT_RECORDS = "export_records", _("Records exported")


# The audit actions that change what is collected: the dashboard marks them on its charts.
POLICY_ACTIONS = (
    AuditAction.SET_CLIENT_POLICY,
    AuditAction.SET_RETENTION,
    AuditAction.SET_WATSON,
    AuditAction.SET_WEB_SERVICE_CONFIGURATION,
    AuditAction.CREATE_WEB_SERVICE_CONFIGURATION,
    AuditAction.REMOVE_WEB_SERVICE_CONFIGURATION,
)

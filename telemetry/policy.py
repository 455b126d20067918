"""The one place that decides whether a telemetry record may be stored, and why.

Pure: no database, no settings, no clock. Callers gather the facts (the tenant's client policy, the
pool's web service configurations, the user's opt-in) and pass them in; the answer carries the reason
code of api.md and a sentence a person can read. Nothing else in the code re-decides this.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from telemetry.records import RETENTION_BOUNDS
from telemetry.vocabulary import (
    DEFAULT_IDENTITY,
    GLOBAL_IDENTITY,
    INVALID_REASON,
    MEETING_CLIENTS,
    UNKNOWN,
    AuditAction,
    Category,
    Client,
    DropReason,
    service_identity,
    site_identity,
)

# How the audit log names a management command as the actor of a change: "command:<name>".
COMMAND_ACTOR_PREFIX = "command:"
# The default of MeetingUxEnableTelemetry where no configuration applies (domain.md).
MEETING_UX_DEFAULT = False


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


EXPIRED_EXPLANATION = "the record's day is older than today minus its retention"


@dataclass(frozen=True)
class Decision:
    stored: bool
    reason: DropReason | None
    explanation: str


# decide is pure and a batch asks it about a few dozen distinct sets of facts, a thousand times: the
# cache answers the repeats.
@functools.lru_cache(maxsize=4096)
def decide(
    *,
    category: Category | str,
    client: Client | str,
    tenant_policy: TenantPolicy,
    meeting_ux: MeetingUxSetting | None = None,
    user_opted_in: bool = False,
    windows_crash: bool = False,
    expired: bool = False,
) -> Decision:
    """May a record of this category from this client be stored? (domain.md, "The decision, per record")

    `meeting_ux` is the effective setting of the pool hosting the meeting; it is only consulted for
    the Meetings App and the join launcher, and treated as the default (off) when missing.
    `expired`: the record's day is already older than today minus its category's retention (the
    caller knows the clock and the retentions). Expiry is not a policy: it drops any record, census
    included, whatever the settings say (lifecycle.md, "Retention").
    """
    category = Category(category)
    client = Client(client)

    if expired:
        return Decision(False, DropReason.EXPIRED, EXPIRED_EXPLANATION)
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


# The Meetings App and its join launcher follow MeetingUxEnableTelemetry, never this switch (domain.md).
MEETINGS_APP_FOLLOWS_ITS_OWN = (
    "The Meetings App and its join launcher are not affected: they follow their own setting "
    "(Meetings App telemetry), and Windows crash uploads follow theirs."
)
USAGE_HELP = (
    "Off stops usage data AND error reporting for every user of the organization's desktop, mobile and "
    "web clients (the client policy DisableAutomaticSendTracing). Users cannot turn it back on for "
    f"themselves. {MEETINGS_APP_FOLLOWS_ITS_OWN}"
)
WATSON_HELP = "Windows crash uploads from the Meetings App (Windows Error Reporting, Watson)."
MEETING_UX_HELP = (
    "Telemetry and error reports from the Meetings App and the join launcher pages for meetings hosted "
    "on the pools this scope covers (MeetingUxEnableTelemetry). The most specific scope wins: pool, "
    "then site, then Global; with none, it is off."
)
CENSUS_EXPLANATION = (
    "Always on. Census data (app, device model, OS, language, sign-in counts) identifies neither the "
    "organization nor the user, so no one can switch it off: not tenant admins, not users."
)


def decided_by(setting: MeetingUxSetting) -> str:
    """The scope that decided a pool's MeetingUxEnableTelemetry, as the policies page names it."""
    if setting.identity == DEFAULT_IDENTITY:
        return "Default (no configuration applies)"
    return setting.identity


def reason_words(reason: str) -> str:
    """A ledger reason in words: a drop reason's label, or what a rejection means."""
    if reason in DropReason.values:
        return DropReason(reason).label
    if reason == INVALID_REASON:
        return "Malformed"
    return reason


def category_words(category: str) -> str:
    """A ledger category in words ("unknown" for a rejected record whose category was not one)."""
    if category in Category.values:
        return Category(category).label
    if category == UNKNOWN:
        return "Unknown category"
    return category


def actor_words(actor: str) -> str:
    """Who made a change, as a sentence names them: a portal user, or "the <name> command"."""
    if actor.startswith(COMMAND_ACTOR_PREFIX):
        return f"the {actor.removeprefix(COMMAND_ACTOR_PREFIX)} command"
    return actor


def setting_value_words(value) -> str:
    """An audited value as the cmdlets print it: True / False, a name as it is, "—" for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return erasure_words(value)
    return str(value)


RETENTION_WORDS = {"KeepUsageRecordsForDays": "Usage records", "KeepErrorReportForDays": "Error reports"}
ERASED_WORDS = {"error_reports": ("error report", "error reports"), "end_users": ("opt-in", "opt-ins")}


def erasure_words(removed: dict[str, int]) -> str:
    """What an erasure removed, in words: "12 error reports and 1 opt-in"."""
    parts = []
    # In a fixed order: a jsonb column (PostgreSQL) does not keep the order of a dict's keys.
    ordered = [table for table in ERASED_WORDS if table in removed] + sorted(set(removed) - set(ERASED_WORDS))
    for table, count in ((table, removed[table]) for table in ordered):
        singular, plural = ERASED_WORDS.get(table, (table, table))
        parts.append(f"{count:,} {singular if count == 1 else plural}")
    return " and ".join(parts) if parts else "nothing was stored"


def _turned(value) -> str:
    return "on" if value else "off"


def audit_sentence(*, action: str, target: str, new_value) -> str:
    """An audit entry in plain words. DisableAutomaticSendTracing True means collection off: the
    double negative is never shown."""
    if action == AuditAction.SET_CLIENT_POLICY:
        return f"Usage data collection turned {_turned(not new_value)}"
    if action == AuditAction.SET_WATSON:
        return f"Windows crash uploads turned {_turned(new_value)}"
    if action in (AuditAction.SET_WEB_SERVICE_CONFIGURATION, AuditAction.CREATE_WEB_SERVICE_CONFIGURATION):
        return f"Meetings App telemetry turned {_turned(new_value)} at {target}"
    if action == AuditAction.REMOVE_WEB_SERVICE_CONFIGURATION:
        return f"Meetings App setting at {target} removed"
    if action == AuditAction.SET_ERASE_ON_OPT_OUT:
        return f"Erasing a user's error reports when they opt out turned {_turned(new_value)}"
    if action == AuditAction.SET_RETENTION:
        kept = RETENTION_WORDS.get(target, target)
        return f"{kept} kept for {new_value} days"
    if action == AuditAction.ERASE_END_USER:
        return f"Data of {target} erased: {erasure_words(new_value or {})}"
    if action == AuditAction.EXPORT_RECORDS:
        filters = ", ".join(f"{name} {value}" for name, value in (new_value or {}).items())
        return f"{target.capitalize()} exported as CSV" + (f" ({filters})" if filters else " (no filter)")
    if action in AuditAction.values:
        return f"{AuditAction(action).label}: {target}"
    return f"{action}: {target}"


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
        stops.append(
            f"Usage data and error reports stop for every user of the organization. {MEETINGS_APP_FOLLOWS_ITS_OWN}"
        )
    if _windows_crashes_stored(old) and not _windows_crashes_stored(new):
        stops.append("Windows crash uploads from the Meetings App stop.")
    return stops


def meeting_ux_stops(*, identity: str, stopping_pools: list[str], old_value: bool | None, new_value: bool | None):
    """What setting (or removing, new_value None) the configuration at `identity` stops, in words,
    given the FQDNs of the pools whose Meetings App telemetry it turns off."""
    stops = [f"Meetings App telemetry stops for meetings hosted on {fqdn}." for fqdn in stopping_pools]
    if old_value and not new_value and not stops:
        stops.append(f"Meetings App telemetry at {identity} turns off (no pool is affected right now).")
    return stops


# --- The explainer: what is collected for a pool and a user, category by category, and why. The
# command get_cs_effective_policy and the pool pages both show it; each line comes from `decide`.


@dataclass(frozen=True)
class EffectivePolicyLine:
    """One category of the explainer: collected or not (None: it depends on each user's opt-in), the
    rule that decided it and the scope the rule comes from."""

    category: str
    collected: bool | None
    rule: str
    scope: str

    @property
    def collected_words(self) -> str:
        if self.collected is None:
            return "Collected for users who opted in"
        return "Collected" if self.collected else "Not collected"


CLIENT_POLICY_SCOPE = "Global (client policy of the organization)"
WATSON_SCOPE = "Global (Windows Error Reporting of the organization)"
CENSUS_SCOPE = "Installation (no setting applies)"


def effective_policy(
    *, tenant_policy: TenantPolicy, meeting_ux: MeetingUxSetting, user_opted_in: bool | None
) -> list[EffectivePolicyLine]:
    """Census, usage, error reporting, the Meetings App and Windows crash uploads for one pool's
    effective MeetingUxEnableTelemetry and one user (`user_opted_in` None: no user given)."""
    census = decide(category=Category.CENSUS, client=Client.DESKTOP, tenant_policy=tenant_policy)
    usage = decide(category=Category.USAGE, client=Client.DESKTOP, tenant_policy=tenant_policy)
    errors = decide(
        category=Category.ERROR, client=Client.DESKTOP, tenant_policy=tenant_policy, user_opted_in=bool(user_opted_in)
    )
    if user_opted_in is None and _opted_in_error_reports_stored(tenant_policy):
        errors_line = EffectivePolicyLine(
            "Error reporting",
            None,
            "DisableAutomaticSendTracing is False: error reports of each user who has opted in",
            f"{CLIENT_POLICY_SCOPE} and each user's own opt-in",
        )
    else:
        scope = CLIENT_POLICY_SCOPE
        if errors.reason != DropReason.USAGE_COLLECTION_DISABLED:
            scope = f"{CLIENT_POLICY_SCOPE} and the user's own opt-in"
        errors_line = EffectivePolicyLine("Error reporting", errors.stored, errors.explanation, scope)
    meetings = decide(
        category=Category.USAGE, client=Client.MEETINGS_APP, tenant_policy=tenant_policy, meeting_ux=meeting_ux
    )
    crashes = decide(
        category=Category.ERROR, client=Client.MEETINGS_APP, tenant_policy=tenant_policy, windows_crash=True
    )
    return [
        EffectivePolicyLine("Census", census.stored, census.explanation, CENSUS_SCOPE),
        EffectivePolicyLine("Usage", usage.stored, usage.explanation, CLIENT_POLICY_SCOPE),
        errors_line,
        EffectivePolicyLine("Meetings App", meetings.stored, meetings.explanation, decided_by(meeting_ux)),
        EffectivePolicyLine("Windows crash uploads", crashes.stored, crashes.explanation, WATSON_SCOPE),
    ]


def opted_in_words(count: int) -> str:
    """How many end users have opted in to error reporting, as the policies page says it."""
    users = "end user has" if count == 1 else "end users have"
    return (
        f"{count:,} {users} opted in to error reporting from their client. Their error reports are "
        "collected while usage data collection is On; the opt-in is their own choice."
    )


def usage_off_banner(*, organization: str, since: str | None) -> str:
    """The banner shown while usage data collection is Off; `since` is when it was turned off, in words."""
    when = f" since {since}" if since else ""
    return (
        f"Usage data collection is Off for {organization}{when}: no usage data and no error reports are "
        f"collected from its desktop, mobile and web clients. Census data is still collected. "
        f"{MEETINGS_APP_FOLLOWS_ITS_OWN}"
    )


def meeting_ux_shadowed_pools(
    *, identity: str, configurations: Mapping[str, bool], pools: list[tuple[str, str | None]]
) -> list[tuple[str, MeetingUxSetting]]:
    """The pools (FQDN, site name) that the configuration at `identity` (Global or a site) covers but
    does not decide, because a more specific scope exists, each with the setting that decides it."""
    shadowed = []
    for fqdn, site_name in pools:
        covered = identity == GLOBAL_IDENTITY or (site_name is not None and identity == site_identity(site_name))
        if not covered:
            continue
        setting = resolve_meeting_ux(configurations=configurations, pool_fqdn=fqdn, site_name=site_name)
        if setting.identity != identity:
            shadowed.append((fqdn, setting))
    return shadowed


def shadowing_warning(*, identity: str, shadowed: list[tuple[str, MeetingUxSetting]]) -> str | None:
    """The warning that the setting at `identity` does not decide for some of its pools; None if it does."""
    if not shadowed:
        return None
    pools = "; ".join(f"{fqdn} ({on_off(setting.enabled)}, set at {setting.identity})" for fqdn, setting in shadowed)
    return (
        f"The Meetings App setting at {identity} does not decide for every pool it covers: "
        f"a more specific scope keeps its own value on {pools}."
    )


def what_if_words(
    *,
    stops: bool,
    records_per_day: float | None,
    exact: bool,
    days: int,
    opted_in_users: int | None = None,
    pools: list[str] | None = None,
    every_pool: bool = False,
) -> list[str]:
    """The what-if of a change, in words: records a day it affects (from the ledger's last `days` days;
    `exact` False when the counts can only bound it), opted-in users, and pools."""
    lines = []
    verb = "stop being collected" if stops else "start being collected"
    if records_per_day is not None:
        amount = f"{records_per_day:,.0f}" if records_per_day >= 1 or records_per_day == 0 else "fewer than 1"
        if records_per_day == 0:
            lines.append(f"No records a day {verb} (none arrived in the last {days} days).")
        else:
            bound = "About" if exact else "At most"
            lines.append(f"{bound} {amount} records a day {verb} (average of the last {days} days).")
    if opted_in_users is not None:
        one = opted_in_users == 1
        users = "end user who opted in" if one else "end users who opted in"
        if stops:
            verb_users = "stops sending error reports" if one else "stop sending error reports"
        else:
            verb_users = "sends error reports again" if one else "send error reports again"
        lines.append(f"{opted_in_users:,} {users} to error reporting {verb_users}.")
    if every_pool:
        lines.append("Pools affected: every pool of the organization.")
    elif pools is not None:
        lines.append(f"Pools affected: {', '.join(pools)}." if pools else "Pools affected: none right now.")
    return lines


# --- Retention: what shortening it deletes (lifecycle.md, "Retention"), and what starting collection does.

RETENTION_NOUNS = {"KeepUsageRecordsForDays": "usage records", "KeepErrorReportForDays": "error reports"}
_DAYS = f"{RETENTION_BOUNDS[0]} to {RETENTION_BOUNDS[1]}"
RETENTION_USAGE_HELP = (
    f"How many days usage records are kept after their day (KeepUsageRecordsForDays, {_DAYS}); the "
    "maintenance deletes older ones. The dashboards keep their counts."
)
RETENTION_ERROR_REPORT_HELP = (
    f"How many days error reports are kept after their day (KeepErrorReportForDays, {_DAYS}); the "
    "maintenance deletes older ones. The dashboards keep their counts."
)
ERASE_ON_OPT_OUT_HELP = (
    "On: when a user opts out of error reporting from their client, their stored error reports are erased "
    "at once, with a receipt in the audit log (EraseErrorReportsOnOptOut). Off: they stay until their "
    "retention ends."
)


def retention_removal_words(
    *, setting: str, old_days: int, new_days: int, records: int | None, exact: bool, first_day: str, last_day: str
) -> str:
    """What shortening one retention deletes, in words. `records` comes from the count tables (None: they
    could not be read); `exact` False when some of those records may already be gone (erased at their
    user's request, or deleted under an earlier, shorter retention): the count is then a bound."""
    noun = RETENTION_NOUNS.get(setting, "records")
    kept = f"{noun[0].upper()}{noun[1:]} kept for {new_days:,} days instead of {old_days:,}"
    days = f"dated {first_day} to {last_day}" if first_day != last_day else f"dated {first_day}"
    if records is None:
        return f"{kept}: the stored {noun} {days} are deleted."
    if records == 0:
        return f"{kept}: no {noun} {days} are stored, so none is deleted now."
    if exact:
        return f"{kept}: {records:,} stored {noun} {days} are deleted."
    return (
        f"{kept}: at most {records:,} stored {noun} {days} are deleted (some of them may already have been "
        "erased or deleted earlier)."
    )


def started_words(*, change: str, what_if: list[str]) -> str:
    """The message after saving a change that starts collecting: the change, then its what-if."""
    return " ".join([f"{change}.", *what_if])


def opt_in_state_words(*, known: bool, opted_in: bool) -> str:
    """A looked-up user's own choice, as the explainer states it (never their ID)."""
    if not known:
        return (
            "The portal has no opt-in from this user: their client has never sent one, so they have not "
            "opted in to error reporting."
        )
    if opted_in:
        return "This user has opted in to error reporting from their client."
    return "This user has not opted in to error reporting (or has opted out) from their client."


MEETINGS_APP_PER_POOL_NOTE = (
    "The Meetings App and the join launcher do not depend on the user: they follow the setting of the pool "
    "that hosts the meeting. Shown here for the Global scope; the Pools page shows what each pool collects."
)


def user_effective_policy(
    *, tenant_policy: TenantPolicy, meeting_ux: MeetingUxSetting, user_opted_in: bool
) -> list[tuple[str, list[EffectivePolicyLine]]]:
    """For one user, per client: census, usage and error reports (and, for the Meetings App, Windows
    crash uploads), each collected or not with its rule and scope, from `decide`."""
    explained = []
    for client in Client:
        lines = []
        for category in Category:
            decision = decide(
                category=category,
                client=client,
                tenant_policy=tenant_policy,
                meeting_ux=meeting_ux,
                user_opted_in=user_opted_in,
            )
            lines.append(
                EffectivePolicyLine(
                    category.label,
                    decision.stored,
                    decision.explanation,
                    _deciding_scope(category=category, client=client, decision=decision, meeting_ux=meeting_ux),
                )
            )
        if client == Client.MEETINGS_APP:
            crashes = decide(category=Category.ERROR, client=client, tenant_policy=tenant_policy, windows_crash=True)
            crash_line = EffectivePolicyLine("Windows crash uploads", crashes.stored, crashes.explanation, WATSON_SCOPE)
            lines.append(crash_line)
        explained.append((client.label, lines))
    return explained


def _deciding_scope(*, category: Category, client: Client, decision: Decision, meeting_ux: MeetingUxSetting) -> str:
    if category == Category.CENSUS:
        return CENSUS_SCOPE
    if client in MEETING_CLIENTS:
        return decided_by(meeting_ux)
    if category == Category.ERROR and decision.reason != DropReason.USAGE_COLLECTION_DISABLED:
        return f"{CLIENT_POLICY_SCOPE} and the user's own opt-in"
    return CLIENT_POLICY_SCOPE

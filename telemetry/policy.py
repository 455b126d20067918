"""The one place that decides whether a telemetry record may be stored, and why.

Pure: no database, no settings, no clock. Callers gather the facts (the tenant's client policy, the
pool's web service configurations, the user's opt-in) and pass them in; the answer carries the reason
code of api.md and a sentence a person can read. Nothing else in the code re-decides this.
"""

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext, ngettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

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
        return _meeting_ux_explanation(self.enabled, self.identity)


def _meeting_ux_explanation(enabled: bool, identity: str) -> str:
    # The value stays True / False, as the cmdlet prints it.
    if identity == DEFAULT_IDENTITY:
        return gettext("MeetingUxEnableTelemetry %(value)s (default; no configuration applies)") % {"value": enabled}
    return gettext("MeetingUxEnableTelemetry %(value)s at %(identity)s") % {"value": enabled, "identity": identity}


# decide's answers are cached across requests, so they keep their sentences unevaluated: each reader gets
# them in their own language (and the commands and the client API in English).
_meeting_ux_explanation_lazy = lazy(_meeting_ux_explanation, str)


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


EXPIRED_EXPLANATION = _("the record's day is older than today minus its retention")


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
    # Lazy sentences only (gettext_lazy, _meeting_ux_explanation_lazy): the answer is cached.

    if expired:
        return Decision(False, DropReason.EXPIRED, EXPIRED_EXPLANATION)
    if category == Category.CENSUS:
        return Decision(True, None, _("census data is always collected"))

    if client in MEETING_CLIENTS:
        if category == Category.ERROR and windows_crash:
            if tenant_policy.watson_enabled:
                return Decision(True, None, _("Windows crash uploads follow the Watson setting, which is on"))
            return Decision(
                False, DropReason.WATSON_DISABLED, _("Windows crash uploads follow the Watson setting, which is off")
            )
        setting = meeting_ux or MeetingUxSetting(enabled=MEETING_UX_DEFAULT, identity=DEFAULT_IDENTITY)
        explanation = _meeting_ux_explanation_lazy(setting.enabled, setting.identity)
        if setting.enabled:
            return Decision(True, None, explanation)
        return Decision(False, DropReason.MEETING_UX_TELEMETRY_DISABLED, explanation)

    if tenant_policy.disable_automatic_send_tracing:
        return Decision(
            False,
            DropReason.USAGE_COLLECTION_DISABLED,
            _("DisableAutomaticSendTracing is True: usage data and error reporting are off for the organization"),
        )
    if category == Category.USAGE:
        return Decision(True, None, _("DisableAutomaticSendTracing is False"))
    if user_opted_in:
        return Decision(True, None, _("DisableAutomaticSendTracing is False and the user has opted in"))
    return Decision(False, DropReason.USER_NOT_OPTED_IN, _("the user has not opted in to error reporting"))


# --- The policy in words. Every sentence that tells a person what is collected is derived here, from
# `decide` itself, so that what the API, the dashboard and the admin say cannot drift from what is stored.


ON = pgettext_lazy("setting value", "On")
OFF = pgettext_lazy("setting value", "Off")


def on_off(value: bool) -> str:
    return str(ON if value else OFF)


# The Meetings App and its join launcher follow MeetingUxEnableTelemetry, never this switch (domain.md).
MEETINGS_APP_FOLLOWS_ITS_OWN = _(
    "The Meetings App and its join launcher are not affected: they follow their own setting "
    "(Meetings App telemetry), and Windows crash uploads follow theirs."
)
USAGE_HELP = format_lazy(
    "{} {}",
    _(
        "Off stops usage data AND error reporting for every user of the organization's desktop, mobile and "
        "web clients (the client policy DisableAutomaticSendTracing). Users cannot turn it back on for "
        "themselves."
    ),
    MEETINGS_APP_FOLLOWS_ITS_OWN,
)
WATSON_HELP = _("Windows crash uploads from the Meetings App (Windows Error Reporting, Watson).")
MEETING_UX_HELP = _(
    "Telemetry and error reports from the Meetings App and the join launcher pages for meetings hosted "
    "on the pools this scope covers (MeetingUxEnableTelemetry). The most specific scope wins: pool, "
    "then site, then Global; with none, it is off."
)
CENSUS_EXPLANATION = _(
    "Always on. Census data (app, device model, OS, language, sign-in counts) identifies neither the "
    "organization nor the user, so no one can switch it off: not tenant admins, not users."
)


def _count(value: int) -> str:
    """A count as the active language groups its digits ("9,000" in English)."""
    return number_format(value, force_grouping=True)


def decided_by(setting: MeetingUxSetting) -> str:
    """The scope that decided a pool's MeetingUxEnableTelemetry, as the policies page names it."""
    if setting.identity == DEFAULT_IDENTITY:
        return gettext("Default (no configuration applies)")
    return setting.identity


def reason_words(reason: str) -> str:
    """A ledger reason in words: a drop reason's label, or what a rejection means."""
    if reason in DropReason.values:
        return str(DropReason(reason).label)
    if reason == INVALID_REASON:
        return gettext("Malformed")
    return reason


def category_words(category: str) -> str:
    """A ledger category in words ("unknown" for a rejected record whose category was not one)."""
    if category in Category.values:
        return str(Category(category).label)
    if category == UNKNOWN:
        return gettext("Unknown category")
    return category


def actor_words(actor: str) -> str:
    """Who made a change, as a sentence names them: a portal user, or "the <name> command"."""
    if actor.startswith(COMMAND_ACTOR_PREFIX):
        return gettext("the %(command)s command") % {"command": actor.removeprefix(COMMAND_ACTOR_PREFIX)}
    return actor


def setting_value_words(value) -> str:
    """An audited value as the cmdlets print it: True / False, a name as it is, "—" for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict):
        return erasure_words(value)
    return str(value)


# The tables an erasure counts, in the order its receipt names them.
ERASED_TABLES = ("error_reports", "end_users")


def _erased_words(table: str, count: int) -> str:
    values = {"count": _count(count)}
    if table == "error_reports":
        return ngettext("%(count)s error report", "%(count)s error reports", count) % values
    if table == "end_users":
        return ngettext("%(count)s opt-in", "%(count)s opt-ins", count) % values
    return f"{values['count']} {table}"


def erasure_words(removed: dict[str, int]) -> str:
    """What an erasure removed, in words: "12 error reports and 1 opt-in"."""
    # In a fixed order: a jsonb column (PostgreSQL) does not keep the order of a dict's keys.
    ordered = [table for table in ERASED_TABLES if table in removed] + sorted(set(removed) - set(ERASED_TABLES))
    parts = [_erased_words(table, removed[table]) for table in ordered]
    if not parts:
        return gettext("nothing was stored")
    words = parts[0]
    for part in parts[1:]:
        words = gettext("%(first)s and %(second)s") % {"first": words, "second": part}
    return words


# Where a stored audit target names a user's pseudonym: "user <first characters of its hash>".
_ERASED_USER_PREFIX = "user "
# An export's target is the verbose name of the records it holds, as stored (English).
_EXPORTED = {
    "usage records": (
        _("Usage records exported as CSV (%(filters)s)"),
        _("Usage records exported as CSV (no filter)"),
    ),
    "error reports": (
        _("Error reports exported as CSV (%(filters)s)"),
        _("Error reports exported as CSV (no filter)"),
    ),
    "census records": (
        _("Census records exported as CSV (%(filters)s)"),
        _("Census records exported as CSV (no filter)"),
    ),
}


def _retention_set_words(*, setting: str, days) -> str:
    count = days if isinstance(days, int) else 0
    values = {"days": days}
    if setting == "KeepUsageRecordsForDays":
        return ngettext("Usage records kept for %(days)s day", "Usage records kept for %(days)s days", count) % values
    if setting == "KeepErrorReportForDays":
        return ngettext("Error reports kept for %(days)s day", "Error reports kept for %(days)s days", count) % values
    return ngettext("%(setting)s kept for %(days)s day", "%(setting)s kept for %(days)s days", count) % {
        "setting": setting,
        **values,
    }


def _stored_word(word) -> str:
    """A word the audit log stored in English, in the reader's language where the catalogue has it
    (gettext("") would answer the catalogue's header)."""
    return gettext(str(word)) if word not in (None, "") else ""


def _export_words(*, target: str, filters: dict) -> str:
    # The filters are stored in English (the sidebar's words: "from", "client", "Desktop", "(its text is
    # not kept)"); each word the catalogue knows is shown in the reader's language, the rest (dates, codes,
    # masked users) as stored.
    words = gettext(", ").join(
        gettext("%(filter)s %(value)s") % {"filter": _stored_word(name), "value": _stored_word(value)}
        for name, value in filters.items()
    )
    with_filters, without = _EXPORTED.get(target, (None, None))
    if with_filters is None:
        records = target.capitalize()
        if words:
            return gettext("%(records)s exported as CSV (%(filters)s)") % {"records": records, "filters": words}
        return gettext("%(records)s exported as CSV (no filter)") % {"records": records}
    return str(with_filters) % {"filters": words} if words else str(without)


def audit_sentence(*, action: str, target: str, new_value) -> str:
    """An audit entry in plain words, in the reader's language: computed when shown, never stored.
    DisableAutomaticSendTracing True means collection off: the double negative is never shown."""
    if action == AuditAction.SET_CLIENT_POLICY:
        if new_value:
            return gettext("Usage data collection turned off")
        return gettext("Usage data collection turned on")
    if action == AuditAction.SET_WATSON:
        if new_value:
            return gettext("Windows crash uploads turned on")
        return gettext("Windows crash uploads turned off")
    if action in (AuditAction.SET_WEB_SERVICE_CONFIGURATION, AuditAction.CREATE_WEB_SERVICE_CONFIGURATION):
        if new_value:
            return gettext("Meetings App telemetry turned on at %(identity)s") % {"identity": target}
        return gettext("Meetings App telemetry turned off at %(identity)s") % {"identity": target}
    if action == AuditAction.REMOVE_WEB_SERVICE_CONFIGURATION:
        return gettext("Meetings App setting at %(identity)s removed") % {"identity": target}
    if action == AuditAction.SET_ERASE_ON_OPT_OUT:
        if new_value:
            return gettext("Erasing a user's error reports when they opt out turned on")
        return gettext("Erasing a user's error reports when they opt out turned off")
    if action == AuditAction.SET_RETENTION:
        return _retention_set_words(setting=target, days=new_value)
    if action == AuditAction.ERASE_END_USER:
        removed = erasure_words(new_value or {})
        if target.startswith(_ERASED_USER_PREFIX):
            return gettext("Data of user %(user)s erased: %(removed)s") % {
                "user": target.removeprefix(_ERASED_USER_PREFIX),
                "removed": removed,
            }
        return gettext("Data of %(target)s erased: %(removed)s") % {"target": target, "removed": removed}
    if action == AuditAction.EXPORT_RECORDS:
        return _export_words(target=target, filters=new_value or {})
    label = AuditAction(action).label if action in AuditAction.values else action
    return gettext("%(action)s: %(target)s") % {"action": label, "target": target}


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


# The lines of client_policy_summary, by which its readers (the data sheet) find them.
USAGE_LINE = _("Usage data collection")
ERROR_LINE = _("Error reporting")
WATSON_LINE = _("Windows crash uploads from the Meetings App")


def client_policy_summary(policy: TenantPolicy) -> list[tuple[str, str]]:
    """A tenant's organization-wide settings as (setting, value) lines, as the dashboard shows them."""
    if _opted_in_error_reports_stored(policy):
        errors = gettext("On for users who opted in")
    else:
        errors = gettext("Off (usage data collection is off)")
    return [
        (str(USAGE_LINE), on_off(_desktop_usage_stored(policy))),
        (str(ERROR_LINE), errors),
        (str(WATSON_LINE), on_off(_windows_crashes_stored(policy))),
    ]


def stops_collection(old: TenantPolicy, new: TenantPolicy) -> list[str]:
    """What changing the organization-wide settings from `old` to `new` stops collecting, in words;
    empty when it stops nothing (a change that only turns collection on needs no confirmation)."""
    stops = []
    if _desktop_usage_stored(old) and not _desktop_usage_stored(new):
        stops.append(
            " ".join(
                [
                    gettext("Usage data and error reports stop for every user of the organization."),
                    str(MEETINGS_APP_FOLLOWS_ITS_OWN),
                ]
            )
        )
    if _windows_crashes_stored(old) and not _windows_crashes_stored(new):
        stops.append(gettext("Windows crash uploads from the Meetings App stop."))
    return stops


def meeting_ux_stops(*, identity: str, stopping_pools: list[str], old_value: bool | None, new_value: bool | None):
    """What setting (or removing, new_value None) the configuration at `identity` stops, in words,
    given the FQDNs of the pools whose Meetings App telemetry it turns off."""
    stops = [
        gettext("Meetings App telemetry stops for meetings hosted on %(pool)s.") % {"pool": fqdn}
        for fqdn in stopping_pools
    ]
    if old_value and not new_value and not stops:
        stops.append(
            gettext("Meetings App telemetry at %(identity)s turns off (no pool is affected right now).")
            % {"identity": identity}
        )
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
            return gettext("Collected for users who opted in")
        return gettext("Collected") if self.collected else gettext("Not collected")


CLIENT_POLICY_SCOPE = _("Global (client policy of the organization)")
CLIENT_POLICY_AND_OPT_IN_SCOPE = _("Global (client policy of the organization) and the user's own opt-in")
CLIENT_POLICY_AND_EACH_OPT_IN_SCOPE = _("Global (client policy of the organization) and each user's own opt-in")
WATSON_SCOPE = _("Global (Windows Error Reporting of the organization)")
CENSUS_SCOPE = _("Installation (no setting applies)")
ERROR_REPORTING = _("Error reporting")
WINDOWS_CRASH_UPLOADS = _("Windows crash uploads")


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
            ERROR_REPORTING,
            None,
            gettext("DisableAutomaticSendTracing is False: error reports of each user who has opted in"),
            CLIENT_POLICY_AND_EACH_OPT_IN_SCOPE,
        )
    else:
        scope = CLIENT_POLICY_SCOPE
        if errors.reason != DropReason.USAGE_COLLECTION_DISABLED:
            scope = CLIENT_POLICY_AND_OPT_IN_SCOPE
        errors_line = EffectivePolicyLine(ERROR_REPORTING, errors.stored, errors.explanation, scope)
    meetings = decide(
        category=Category.USAGE, client=Client.MEETINGS_APP, tenant_policy=tenant_policy, meeting_ux=meeting_ux
    )
    crashes = decide(
        category=Category.ERROR, client=Client.MEETINGS_APP, tenant_policy=tenant_policy, windows_crash=True
    )
    return [
        EffectivePolicyLine(Category.CENSUS.label, census.stored, census.explanation, CENSUS_SCOPE),
        EffectivePolicyLine(Category.USAGE.label, usage.stored, usage.explanation, CLIENT_POLICY_SCOPE),
        errors_line,
        EffectivePolicyLine(Client.MEETINGS_APP.label, meetings.stored, meetings.explanation, decided_by(meeting_ux)),
        EffectivePolicyLine(WINDOWS_CRASH_UPLOADS, crashes.stored, crashes.explanation, WATSON_SCOPE),
    ]


def opted_in_words(count: int) -> str:
    """How many end users have opted in to error reporting, as the policies page says it."""
    return ngettext(
        "%(count)s end user has opted in to error reporting from their client. Their error reports are "
        "collected while usage data collection is On; the opt-in is their own choice.",
        "%(count)s end users have opted in to error reporting from their client. Their error reports are "
        "collected while usage data collection is On; the opt-in is their own choice.",
        count,
    ) % {"count": _count(count)}


def usage_off_banner(*, organization: str, since: str | None) -> str:
    """The banner shown while usage data collection is Off; `since` is when it was turned off, in words."""
    values = {"organization": organization, "since": since}
    if since:
        off = gettext(
            "Usage data collection is Off for %(organization)s since %(since)s: no usage data and no error "
            "reports are collected from its desktop, mobile and web clients. Census data is still collected."
        )
    else:
        off = gettext(
            "Usage data collection is Off for %(organization)s: no usage data and no error reports are "
            "collected from its desktop, mobile and web clients. Census data is still collected."
        )
    return " ".join([off % values, str(MEETINGS_APP_FOLLOWS_ITS_OWN)])


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
    pools = "; ".join(
        gettext("%(pool)s (%(value)s, set at %(identity)s)")
        % {"pool": fqdn, "value": on_off(setting.enabled), "identity": setting.identity}
        for fqdn, setting in shadowed
    )
    return gettext(
        "The Meetings App setting at %(identity)s does not decide for every pool it covers: "
        "a more specific scope keeps its own value on %(pools)s."
    ) % {"identity": identity, "pools": pools}


def _records_a_day_words(*, stops: bool, records_per_day: float, exact: bool, days: int) -> str:
    """One whole sentence per case (stop or start, about or at most), so that a translator has each."""
    values = {"days": days}
    if records_per_day == 0:
        if stops:
            return gettext("No records a day stop being collected (none arrived in the last %(days)s days).") % values
        return gettext("No records a day start being collected (none arrived in the last %(days)s days).") % values
    if records_per_day < 1:
        # Fewer than one is already a bound: "about" and "at most" say the same of it.
        if stops:
            sentence = gettext("Fewer than 1 record a day stops being collected (average of the last %(days)s days).")
        else:
            sentence = gettext("Fewer than 1 record a day starts being collected (average of the last %(days)s days).")
        return sentence % values
    count = round(records_per_day)
    values["count"] = _count(count)
    if stops and exact:
        sentence = ngettext(
            "About %(count)s record a day stops being collected (average of the last %(days)s days).",
            "About %(count)s records a day stop being collected (average of the last %(days)s days).",
            count,
        )
    elif stops:
        sentence = ngettext(
            "At most %(count)s record a day stops being collected (average of the last %(days)s days).",
            "At most %(count)s records a day stop being collected (average of the last %(days)s days).",
            count,
        )
    elif exact:
        sentence = ngettext(
            "About %(count)s record a day starts being collected (average of the last %(days)s days).",
            "About %(count)s records a day start being collected (average of the last %(days)s days).",
            count,
        )
    else:
        sentence = ngettext(
            "At most %(count)s record a day starts being collected (average of the last %(days)s days).",
            "At most %(count)s records a day start being collected (average of the last %(days)s days).",
            count,
        )
    return sentence % values


def _opted_in_users_words(*, stops: bool, opted_in_users: int) -> str:
    values = {"count": _count(opted_in_users)}
    if stops:
        return (
            ngettext(
                "%(count)s end user who opted in to error reporting stops sending error reports.",
                "%(count)s end users who opted in to error reporting stop sending error reports.",
                opted_in_users,
            )
            % values
        )
    return (
        ngettext(
            "%(count)s end user who opted in to error reporting sends error reports again.",
            "%(count)s end users who opted in to error reporting send error reports again.",
            opted_in_users,
        )
        % values
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
    if records_per_day is not None:
        lines.append(_records_a_day_words(stops=stops, records_per_day=records_per_day, exact=exact, days=days))
    if opted_in_users is not None:
        lines.append(_opted_in_users_words(stops=stops, opted_in_users=opted_in_users))
    if every_pool:
        lines.append(gettext("Pools affected: every pool of the organization."))
    elif pools is not None:
        if pools:
            lines.append(gettext("Pools affected: %(pools)s.") % {"pools": ", ".join(pools)})
        else:
            lines.append(gettext("Pools affected: none right now."))
    return lines


# --- Retention: what shortening it deletes (lifecycle.md, "Retention"), and what starting collection does.

RETENTION_USAGE_HELP = format_lazy(
    _(
        "How many days usage records are kept after their day (KeepUsageRecordsForDays, {low} to {high}); the "
        "maintenance deletes older ones. The dashboards keep their counts."
    ),
    low=RETENTION_BOUNDS[0],
    high=RETENTION_BOUNDS[1],
)
RETENTION_ERROR_REPORT_HELP = format_lazy(
    _(
        "How many days error reports are kept after their day (KeepErrorReportForDays, {low} to {high}); the "
        "maintenance deletes older ones. The dashboards keep their counts."
    ),
    low=RETENTION_BOUNDS[0],
    high=RETENTION_BOUNDS[1],
)
ERASE_ON_OPT_OUT_HELP = _(
    "On: when a user opts out of error reporting from their client, their stored error reports are erased "
    "at once, with a receipt in the audit log (EraseErrorReportsOnOptOut). Off: they stay until their "
    "retention ends."
)


@dataclass(frozen=True)
class _RemovalSentences:
    """What shortening one retention deletes, one whole sentence (or clause) per case. The phrase of the
    days has its noun as context: in many languages it agrees with it."""

    change: object  # ngettext_lazy on "n" (the new days)
    one_day: object
    days: object
    unknown: object
    none: object
    exact: object  # ngettext_lazy on "n" (the records)
    bound: object  # ngettext_lazy on "n" (the records)


_REMOVAL_SENTENCES = {
    "KeepUsageRecordsForDays": _RemovalSentences(
        change=ngettext_lazy(
            "Usage records kept for %(new)s day instead of %(old)s",
            "Usage records kept for %(new)s days instead of %(old)s",
            "n",
        ),
        one_day=pgettext_lazy("usage records", "dated %(day)s"),
        days=pgettext_lazy("usage records", "dated %(first)s to %(last)s"),
        unknown=_("the stored usage records %(dated)s are deleted."),
        none=_("no usage records %(dated)s are stored, so none is deleted now."),
        exact=ngettext_lazy(
            "%(count)s stored usage record %(dated)s is deleted.",
            "%(count)s stored usage records %(dated)s are deleted.",
            "n",
        ),
        bound=ngettext_lazy(
            "at most %(count)s stored usage record %(dated)s is deleted (it may already have been erased or "
            "deleted earlier).",
            "at most %(count)s stored usage records %(dated)s are deleted (some of them may already have been "
            "erased or deleted earlier).",
            "n",
        ),
    ),
    "KeepErrorReportForDays": _RemovalSentences(
        change=ngettext_lazy(
            "Error reports kept for %(new)s day instead of %(old)s",
            "Error reports kept for %(new)s days instead of %(old)s",
            "n",
        ),
        one_day=pgettext_lazy("error reports", "dated %(day)s"),
        days=pgettext_lazy("error reports", "dated %(first)s to %(last)s"),
        unknown=_("the stored error reports %(dated)s are deleted."),
        none=_("no error reports %(dated)s are stored, so none is deleted now."),
        exact=ngettext_lazy(
            "%(count)s stored error report %(dated)s is deleted.",
            "%(count)s stored error reports %(dated)s are deleted.",
            "n",
        ),
        bound=ngettext_lazy(
            "at most %(count)s stored error report %(dated)s is deleted (it may already have been erased or "
            "deleted earlier).",
            "at most %(count)s stored error reports %(dated)s are deleted (some of them may already have been "
            "erased or deleted earlier).",
            "n",
        ),
    ),
}
_RECORDS_REMOVAL_SENTENCES = _RemovalSentences(
    change=ngettext_lazy(
        "Records kept for %(new)s day instead of %(old)s", "Records kept for %(new)s days instead of %(old)s", "n"
    ),
    one_day=pgettext_lazy("records", "dated %(day)s"),
    days=pgettext_lazy("records", "dated %(first)s to %(last)s"),
    unknown=_("the stored records %(dated)s are deleted."),
    none=_("no records %(dated)s are stored, so none is deleted now."),
    exact=ngettext_lazy(
        "%(count)s stored record %(dated)s is deleted.", "%(count)s stored records %(dated)s are deleted.", "n"
    ),
    bound=ngettext_lazy(
        "at most %(count)s stored record %(dated)s is deleted (it may already have been erased or deleted earlier).",
        "at most %(count)s stored records %(dated)s are deleted (some of them may already have been erased or "
        "deleted earlier).",
        "n",
    ),
)


def retention_removal_words(
    *, setting: str, old_days: int, new_days: int, records: int | None, exact: bool, first_day: str, last_day: str
) -> str:
    """What shortening one retention deletes, in words. `records` comes from the count tables (None: they
    could not be read); `exact` False when some of those records may already be gone (erased at their
    user's request, or deleted under an earlier, shorter retention): the count is then a bound.
    `first_day` and `last_day` are the days as the reader reads them."""
    sentences = _REMOVAL_SENTENCES.get(setting, _RECORDS_REMOVAL_SENTENCES)
    change = sentences.change % {"n": new_days, "new": _count(new_days), "old": _count(old_days)}
    if first_day != last_day:
        dated = sentences.days % {"first": first_day, "last": last_day}
    else:
        dated = sentences.one_day % {"day": first_day}
    if records is None:
        consequence = sentences.unknown % {"dated": dated}
    elif records == 0:
        consequence = sentences.none % {"dated": dated}
    else:
        stored = sentences.exact if exact else sentences.bound
        consequence = stored % {"n": records, "count": _count(records), "dated": dated}
    # The change, then what it deletes; a translator may join them otherwise.
    return gettext("%(change)s: %(consequence)s") % {"change": change, "consequence": consequence}


def started_words(*, change: str, what_if: list[str]) -> str:
    """The message after saving a change that starts collecting: the change, then its what-if."""
    sentence = pgettext("a sentence without its full stop, ended", "%(sentence)s.") % {"sentence": change}
    return " ".join([sentence, *what_if])


def opt_in_state_words(*, known: bool, opted_in: bool) -> str:
    """A looked-up user's own choice, as the explainer states it (never their ID)."""
    if not known:
        return gettext(
            "The portal has no opt-in from this user: their client has never sent one, so they have not "
            "opted in to error reporting."
        )
    if opted_in:
        return gettext("This user has opted in to error reporting from their client.")
    return gettext("This user has not opted in to error reporting (or has opted out) from their client.")


MEETINGS_APP_PER_POOL_NOTE = _(
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
            crash_line = EffectivePolicyLine(WINDOWS_CRASH_UPLOADS, crashes.stored, crashes.explanation, WATSON_SCOPE)
            lines.append(crash_line)
        explained.append((client.label, lines))
    return explained


def _deciding_scope(*, category: Category, client: Client, decision: Decision, meeting_ux: MeetingUxSetting) -> str:
    if category == Category.CENSUS:
        return CENSUS_SCOPE
    if client in MEETING_CLIENTS:
        return decided_by(meeting_ux)
    if category == Category.ERROR and decision.reason != DropReason.USAGE_COLLECTION_DISABLED:
        return CLIENT_POLICY_AND_OPT_IN_SCOPE
    return CLIENT_POLICY_SCOPE

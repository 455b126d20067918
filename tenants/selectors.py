"""Reads of tenants and their policies that are more than a `get`."""

import datetime
from dataclasses import dataclass

from django.http import Http404
from django.utils.translation import gettext

from telemetry.names import is_slug
from telemetry.policy import (
    EffectivePolicyLine,
    MeetingUxSetting,
    effective_policy,
    meeting_ux_shadowed_pools,
    resolve_meeting_ux,
    shadowing_warning,
    user_effective_policy,
)
from telemetry.pseudonymize import user_pseudonyms
from telemetry.vocabulary import AuditAction, ScopeKind
from tenants.models import AuditLogEntry, EndUser, Pool, Tenant, WebServiceConfiguration
from tenants.scoping import admin_tenant_id


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.all_tenants().filter(slug=slug).first()


def tenant_for_viewer(*, viewer, slug: str | None) -> Tenant:
    """The tenant a portal viewer names by slug, or Http404 when it is missing, another tenant's or not
    a slug at all. Without a slug, a tenant admin's own tenant and, for those who see several, the first.

    The one accessor of the dashboard, its CSV export and the counts API: another tenant's slug and a
    slug that does not exist cannot be told apart.
    """
    visible = Tenant.objects.visible_to(viewer)
    if slug:
        tenant = visible.filter(slug=slug).first() if is_slug(slug) else None
    elif (own := admin_tenant_id(viewer)) is not None:
        tenant = visible.filter(pk=own).first()
    else:
        tenant = visible.order_by("slug").first()
    if tenant is None:
        raise Http404(gettext("No such tenant."))
    return tenant


def meeting_ux_configurations(*, tenant: Tenant) -> dict[str, bool]:
    """Every web service configuration of a tenant by identity (one query)."""
    rows = WebServiceConfiguration.objects.filter(tenant=tenant).select_related("site", "pool")
    return {row.identity: row.meeting_ux_enable_telemetry for row in rows}


def pool_meeting_ux(*, pool: Pool | None, configurations: dict[str, bool]) -> MeetingUxSetting:
    """The effective MeetingUxEnableTelemetry of a pool (None: no pool, so Global or the default).

    The one way the code resolves it: ingestion, the policy API, the policies page and the
    confirmation of a change all ask here."""
    return resolve_meeting_ux(
        configurations=configurations,
        pool_fqdn=pool.fqdn if pool is not None else None,
        site_name=pool.site.name if pool is not None and pool.site_id else None,
    )


def tenant_pools(*, tenant: Tenant) -> list[Pool]:
    return list(Pool.objects.filter(tenant=tenant).select_related("site").order_by("fqdn"))


def pools_with_effective_meeting_ux(*, tenant: Tenant) -> list[tuple[Pool, MeetingUxSetting]]:
    """Every pool of the tenant with its effective MeetingUxEnableTelemetry and the deciding scope."""
    configurations = meeting_ux_configurations(tenant=tenant)
    return [(pool, pool_meeting_ux(pool=pool, configurations=configurations)) for pool in tenant_pools(tenant=tenant)]


def meeting_ux_stopping_pools(*, tenant: Tenant, identity: str, new_value: bool | None) -> list[Pool]:
    """The pools whose effective MeetingUxEnableTelemetry would turn from on to off if the
    configuration at `identity` were set to `new_value` (None: removed)."""
    before = meeting_ux_configurations(tenant=tenant)
    after = dict(before)
    if new_value is None:
        after.pop(identity, None)
    else:
        after[identity] = new_value
    return [
        pool
        for pool in tenant_pools(tenant=tenant)
        if pool_meeting_ux(pool=pool, configurations=before).enabled
        and not pool_meeting_ux(pool=pool, configurations=after).enabled
    ]


def end_user_find(*, tenant: Tenant, user_id: str) -> EndUser | None:
    """Find an end user by their typed user ID: the ID is hashed (under every key still in use) and the
    hashes looked up."""
    return EndUser.objects.filter(tenant=tenant, user_hash__in=user_pseudonyms(user_id, tenant_id=tenant.pk)).first()


SCOPE_ORDER = {ScopeKind.GLOBAL: 0, ScopeKind.SITE: 1, ScopeKind.SERVICE: 2}


def web_service_configurations_ordered(*, tenant: Tenant) -> list[WebServiceConfiguration]:
    """A tenant's configurations as Get-CsWebServiceConfiguration lists them: Global, sites, services."""
    rows = WebServiceConfiguration.objects.filter(tenant=tenant).select_related("site", "pool")
    return sorted(rows, key=lambda row: (SCOPE_ORDER[row.scope], row.identity.casefold()))


def effective_policy_of(
    *,
    tenant: Tenant,
    pool: Pool | None,
    user_opted_in: bool | None,
    configurations: dict[str, bool] | None = None,
) -> list[EffectivePolicyLine]:
    """What is collected for a pool (None: Global) and a user (None: no user given), category by
    category, with the rule and scope that decided it: the explainer of the pool pages and of
    get_cs_effective_policy, from the decision ingestion makes."""
    if configurations is None:
        configurations = meeting_ux_configurations(tenant=tenant)
    return effective_policy(
        tenant_policy=tenant.policy,
        meeting_ux=pool_meeting_ux(pool=pool, configurations=configurations),
        user_opted_in=user_opted_in,
    )


def opted_in_user_count(*, tenant: Tenant) -> int:
    return EndUser.objects.filter(tenant=tenant, error_reporting_opted_in=True).count()


def usage_collection_off_since(*, tenant: Tenant):
    """When usage data collection was last turned Off (the last client-policy entry of the audit log),
    or None while it is On or when no entry says so (set before the audit log kept it)."""
    if tenant.usage_collection_enabled:
        return None
    entry = (
        AuditLogEntry.objects.filter(tenant=tenant, action=AuditAction.SET_CLIENT_POLICY, new_value=True)
        .order_by("-created_at", "-id")
        .first()
    )
    return entry.created_at if entry is not None else None


def meeting_ux_shadowing_warnings(*, tenant: Tenant, identity: str | None = None) -> list[str]:
    """For each Global or Site configuration of the tenant (or the one at `identity`) that a more
    specific scope overrides on some of its pools, the warning that names those pools."""
    configurations = meeting_ux_configurations(tenant=tenant)
    pools = [(pool.fqdn, pool.site.name if pool.site_id else None) for pool in tenant_pools(tenant=tenant)]
    identities = [
        row.identity
        for row in web_service_configurations_ordered(tenant=tenant)
        if row.scope in (ScopeKind.GLOBAL, ScopeKind.SITE)
    ]
    if identity is not None:
        identities = [candidate for candidate in identities if candidate == identity]
    warnings = []
    for candidate in identities:
        shadowed = meeting_ux_shadowed_pools(identity=candidate, configurations=configurations, pools=pools)
        warning = shadowing_warning(identity=candidate, shadowed=shadowed)
        if warning is not None:
            warnings.append(warning)
    return warnings


def retention_may_have_removed(*, tenant: Tenant, setting_name: str, since: datetime.date) -> bool:
    """Whether an earlier, shorter retention of this setting may have deleted records dated `since` or
    later: a retention of r days in force until a moment t deletes the records dated before t's day
    minus r. Reads the tenant's retention changes in the audit log (a handful of rows)."""
    changes = AuditLogEntry.objects.filter(tenant=tenant, action=AuditAction.SET_RETENTION, field=setting_name)
    for ended_at, days in changes.values_list("created_at", "old_value"):
        if isinstance(days, int) and ended_at.date() - datetime.timedelta(days=days) > since:
            return True
    return False


def error_reports_erased_since(*, tenant: Tenant, since: datetime.date) -> bool:
    """Whether an erasure (by an admin or a user's opt-out) may have removed error reports dated `since`
    or later: an erasure removes reports dated up to a day after it (a record may be dated a day ahead)."""
    return AuditLogEntry.objects.filter(
        tenant=tenant,
        action=AuditAction.ERASE_END_USER,
        created_at__date__gte=since - datetime.timedelta(days=1),
        new_value__error_reports__gt=0,
    ).exists()


@dataclass(frozen=True)
class UserExplainer:
    """What is collected for one looked-up user, per client, and the user's own choice in words."""

    known: bool
    opted_in: bool
    clients: list[tuple[str, list[EffectivePolicyLine]]]


def end_user_explainer(*, tenant: Tenant, pseudonyms: list[str]) -> UserExplainer:
    """The explainer of a user found by typed ID (known only by the pseudonyms of that ID), from the
    decision ingestion makes; a user without an opt-in row has not opted in."""
    end_user = EndUser.objects.filter(tenant=tenant, user_hash__in=pseudonyms).first()
    opted_in = end_user is not None and end_user.error_reporting_opted_in
    meeting_ux = pool_meeting_ux(pool=None, configurations=meeting_ux_configurations(tenant=tenant))
    clients = user_effective_policy(tenant_policy=tenant.policy, meeting_ux=meeting_ux, user_opted_in=opted_in)
    return UserExplainer(known=end_user is not None, opted_in=opted_in, clients=clients)

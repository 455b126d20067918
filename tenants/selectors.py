"""Reads of tenants and their policies that are more than a `get`."""

from telemetry.policy import MeetingUxSetting, resolve_meeting_ux
from telemetry.pseudonymize import hash_user_id
from tenants.models import EndUser, Pool, Tenant, WebServiceConfiguration


def tenant_get_by_slug(*, slug: str) -> Tenant | None:
    return Tenant.objects.all_tenants().filter(slug=slug).first()


def meeting_ux_configurations(*, tenant: Tenant) -> dict[str, bool]:
    """Every web service configuration of a tenant by identity (one query)."""
    rows = WebServiceConfiguration.objects.filter(tenant=tenant).select_related("site", "pool")
    return {row.identity: row.meeting_ux_enable_telemetry for row in rows}


def pool_meeting_ux(*, pool: Pool, configurations: dict[str, bool]) -> MeetingUxSetting:
    return resolve_meeting_ux(
        configurations=configurations,
        pool_fqdn=pool.fqdn,
        site_name=pool.site.name if pool.site_id else None,
    )


def pools_with_effective_meeting_ux(*, tenant: Tenant) -> list[tuple[Pool, MeetingUxSetting]]:
    """Every pool of the tenant with its effective MeetingUxEnableTelemetry and the deciding scope."""
    configurations = meeting_ux_configurations(tenant=tenant)
    pools = Pool.objects.filter(tenant=tenant).select_related("site").order_by("fqdn")
    return [(pool, pool_meeting_ux(pool=pool, configurations=configurations)) for pool in pools]


def end_user_find(*, tenant: Tenant, user_id: str) -> EndUser | None:
    """Find an end user by their typed user ID: the ID is hashed and the hash looked up."""
    return EndUser.objects.filter(tenant=tenant, user_hash=hash_user_id(user_id)).first()


def web_service_configurations_ordered(*, tenant: Tenant) -> list[WebServiceConfiguration]:
    """A tenant's configurations as Get-CsWebServiceConfiguration lists them: Global, sites, services."""
    rank = {
        WebServiceConfiguration.Scope.GLOBAL: 0,
        WebServiceConfiguration.Scope.SITE: 1,
        WebServiceConfiguration.Scope.SERVICE: 2,
    }
    rows = WebServiceConfiguration.objects.filter(tenant=tenant).select_related("site", "pool")
    return sorted(rows, key=lambda row: (rank[row.scope], row.identity.casefold()))

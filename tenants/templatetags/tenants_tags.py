"""Template tags of the tenants app: the state of a tenant's policies that pages must not hide."""

from django import template

from telemetry.policy import usage_off_banner
from tenants.models import Tenant
from tenants.selectors import usage_collection_off_since

register = template.Library()


@register.inclusion_tag("admin/tenants/usage_off_banner_message.html")
def usage_off_banner_for(tenant):
    """While the tenant's usage data collection is Off, a banner that says so and since when."""
    if not isinstance(tenant, Tenant) or tenant.usage_collection_enabled:
        return {"banner": None}
    since = usage_collection_off_since(tenant=tenant)
    words = f"{since:%Y-%m-%d %H:%M} UTC" if since is not None else None
    return {"banner": usage_off_banner(organization=tenant.name, since=words)}

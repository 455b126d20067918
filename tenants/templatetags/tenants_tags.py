"""Template tags of the tenants app: the state of a tenant's policies that pages must not hide."""

from django import template
from django.utils.formats import date_format
from django.utils.translation import gettext

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
    # The time as the page's language writes it (ISO 8601 in English: portal/formats/en).
    words = gettext("%(time)s UTC") % {"time": date_format(since, "SHORT_DATETIME_FORMAT")} if since else None
    return {"banner": usage_off_banner(organization=tenant.name, since=words)}

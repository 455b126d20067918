"""What a portal user may see: the one answer every admin page, dashboard and JSON view asks for.

A tenant admin sees their own tenant; support staff and superusers see every tenant; anyone else
sees nothing. Querysets apply it with `.visible_to(user)`; crossing tenants is spelled
`.all_tenants()`.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The roles of a portal sign-in (PortalRole.role)."""

    TENANT_ADMIN = "tenant_admin", _("Tenant admin")
    SUPPORT = "support", _("Support staff")


def portal_role_of(user):
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    try:
        return user.portal_role
    except ObjectDoesNotExist:
        return None


def is_support(user) -> bool:
    role = portal_role_of(user)
    return role is not None and role.role == Role.SUPPORT


def admin_tenant_id(user) -> int | None:
    """The tenant a tenant admin administers, or None for everyone else."""
    role = portal_role_of(user)
    if role is not None and role.role == Role.TENANT_ADMIN:
        return role.tenant_id
    return None


def visible_tenant_ids(user) -> list[int] | None:
    """The tenant IDs the user may see, or None for every tenant."""
    if user is not None and user.is_authenticated and user.is_active and user.is_superuser:
        return None
    role = portal_role_of(user)
    if role is None:
        return []
    if role.role == Role.SUPPORT:
        return None
    return [role.tenant_id]

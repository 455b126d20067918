from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """The Django admin, with the portal's site (role-based access) as `admin.site`."""

    default_site = "portal.admin_site.PortalAdminSite"

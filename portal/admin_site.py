"""The admin site of the portal: who may enter, and where a tenant admin starts."""

from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tenants.scoping import admin_tenant_id, portal_role_of


class PortalAdminSite(admin.AdminSite):
    site_header = "Telemetry governance portal"
    site_title = "Telemetry portal"
    index_title = "Administration"
    index_template = "admin/portal_index.html"

    def has_permission(self, request):
        """Active superusers, and active staff with a portal role; Django model permissions play no part."""
        user = request.user
        if not user.is_active:
            return False
        if user.is_superuser:
            return True
        return user.is_staff and portal_role_of(user) is not None

    def each_context(self, request):
        context = super().each_context(request)
        context["own_tenant_url"] = self._own_tenant_url(request)
        return context

    def _own_tenant_url(self, request) -> str | None:
        """A tenant admin's organization page: their policies are what they came for."""
        tenant_id = admin_tenant_id(request.user)
        if tenant_id is None:
            return None
        try:
            return reverse("admin:tenants_tenant_change", args=[tenant_id], current_app=self.name)
        except NoReverseMatch:
            return None

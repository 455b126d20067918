"""The admin site of the portal: who may enter, and where a tenant admin starts."""

from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant
from tenants.scoping import admin_tenant_id, portal_role_of

# What a tenant admin calls their tenant; support staff and superusers, who see many, say "Tenants".
OWN_TENANT_LABEL = _("Your organization")


class PortalAdminSite(admin.AdminSite):
    site_header = _("Telemetry governance portal")
    site_title = _("Telemetry portal")
    index_title = _("Administration")
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
        # Django's "View site" points at "/", where nothing is served; the dashboard is the portal's
        # other half. Hidden while it is not installed.
        context["site_url"] = self._url_or_none("dashboard")
        return context

    def index(self, request, extra_context=None):
        # A tenant admin's home page says when their organization's usage data collection is Off.
        tenant_id = admin_tenant_id(request.user)
        own = Tenant.objects.visible_to(request.user).filter(pk=tenant_id).first() if tenant_id else None
        return super().index(request, {"own_tenant": own, **(extra_context or {})})

    def get_app_list(self, request, app_label=None):
        """The sidebar and index: a tenant admin's one tenant is "Your organization", first, and leads
        straight to its page rather than to a list of one."""
        app_list = super().get_app_list(request, app_label)
        own_tenant_url = self._own_tenant_url(request)
        if own_tenant_url is None:
            return app_list
        for app in app_list:
            for entry in app["models"]:
                if entry["model"] is Tenant:
                    entry["name"] = OWN_TENANT_LABEL
                    entry["admin_url"] = own_tenant_url
                    entry["add_url"] = None
            app["models"].sort(key=lambda entry: entry["model"] is not Tenant)
        return app_list

    def _own_tenant_url(self, request) -> str | None:
        """A tenant admin's organization page: their policies are what they came for."""
        tenant_id = admin_tenant_id(request.user)
        if tenant_id is None:
            return None
        return self._url_or_none("admin:tenants_tenant_change", args=[tenant_id])

    def _url_or_none(self, name: str, args=None) -> str | None:
        try:
            return reverse(name, args=args, current_app=self.name)
        except NoReverseMatch:
            return None


def forbidden_page(request) -> HttpResponse:
    """The portal's 403 page: its navigation, and a sentence that says why (templates/403.html)."""
    context = admin.site.each_context(request) if hasattr(request, "user") else {}
    return render(request, "403.html", {**context, "title": gettext("You may not do this")}, status=403)

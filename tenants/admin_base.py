"""The admin's one scoping boundary and its role-based permissions.

Every tenant-owned admin derives from `TenantScopedAdmin`: its `get_queryset` asks
`Model.objects.visible_to(user)` (tenants/scoping.py decides), and everything Django's admin does
(change lists, filters, search, autocomplete, actions, change/history/delete pages, custom views)
goes through it. What another tenant owns does not exist: `get_object` answers 404, not Django's
"doesn't exist" redirect, so the two cases cannot be told apart.

Permissions come from the portal role, never from Django model permissions: tenant admins write
what their admin class allows, support staff only view, superusers write what any admin class allows.
"""

from django.contrib import admin, messages
from django.contrib.admin.filters import RelatedFieldListFilter
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse

from tenants.models import Tenant
from tenants.scoping import admin_tenant_id, is_support, visible_tenant_ids
from tenants.services import Actor, PortalError


def is_superuser(request) -> bool:
    user = request.user
    return user.is_active and user.is_superuser


def is_tenant_admin(request) -> bool:
    return admin_tenant_id(request.user) is not None


def sees_many_tenants(request) -> bool:
    return visible_tenant_ids(request.user) is None


def actor_of(request) -> Actor:
    return Actor.for_user(request.user)


class VisibleTenantFilter(RelatedFieldListFilter):
    """The tenant filter lists only the tenants the viewer may see (Django's lists every row)."""

    def field_choices(self, field, request, model_admin):
        return [(tenant.pk, str(tenant)) for tenant in Tenant.objects.visible_to(request.user)]


class PortalModelAdmin(admin.ModelAdmin):
    """Role-based permissions and 404 for anything `get_queryset` does not hold."""

    # What each role may do with this model; superusers may do what either role may.
    tenant_admin_may_view = True
    support_may_view = True
    tenant_admin_may_add = False
    tenant_admin_may_change = False
    tenant_admin_may_delete = False

    def _may_write(self, request, allowed: bool) -> bool:
        return allowed and (is_superuser(request) or is_tenant_admin(request))

    def has_view_permission(self, request, obj=None):
        if is_superuser(request):
            return True
        if is_support(request.user):
            return self.support_may_view
        if is_tenant_admin(request):
            return self.tenant_admin_may_view
        return False

    def has_add_permission(self, request):
        return self._may_write(request, self.tenant_admin_may_add)

    def has_change_permission(self, request, obj=None):
        return self._may_write(request, self.tenant_admin_may_change)

    def has_delete_permission(self, request, obj=None):
        return self._may_write(request, self.tenant_admin_may_delete)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            # Missing, malformed and another tenant's all look the same.
            raise Http404("No such object.")
        return obj

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Services refuse a user's mistake with PortalError after the form validated; the view's
        # transaction has rolled everything back, so say why and let them try again.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PortalError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except PortalError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class TenantScopedAdmin(PortalModelAdmin):
    """An admin of a tenant-owned model (a `tenant` foreign key and a TenantScopedQuerySet)."""

    def get_queryset(self, request):
        queryset = self.model.objects.visible_to(request.user)
        ordering = self.get_ordering(request)
        if ordering:
            queryset = queryset.order_by(*ordering)
        return queryset

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if hasattr(related.objects, "visible_to"):
            kwargs["queryset"] = related.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if hasattr(related.objects, "visible_to"):
            kwargs["queryset"] = related.objects.visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_display(self, request):
        # The tenant column means something only to those who see more than one tenant.
        columns = list(super().get_list_display(request))
        if sees_many_tenants(request) and "tenant" not in columns:
            columns.append("tenant")
        return columns

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if sees_many_tenants(request):
            filters.insert(0, ("tenant", VisibleTenantFilter))
        return filters

    def tenant_for_write(self, request, form) -> Tenant:
        """The tenant a new object belongs to: the tenant admin's own; a superuser picks one."""
        tenant_id = admin_tenant_id(request.user)
        if tenant_id is not None:
            return Tenant.objects.visible_to(request.user).get(pk=tenant_id)
        return form.cleaned_data["tenant"]

    def tenant_field_needed(self, request) -> bool:
        """Only superusers, who belong to no tenant, choose the tenant of a new object."""
        return admin_tenant_id(request.user) is None


CONFIRM_STOP_FIELD = "_confirm_stop_collection"


class StopCollectionConfirmationMixin:
    """A change that stops collecting data is shown back for confirmation before anything is written.

    The admin answers the first POST of such a change with a confirmation page (CSRF-protected, like
    Django's delete confirmation) that re-posts the same data with CONFIRM_STOP_FIELD; only that
    second POST reaches Django's save path.
    """

    stop_confirmation_template = "admin/tenants/confirm_stop_collection.html"

    def stopping_changes(self, request, obj, form) -> list[str]:
        """What the valid `form` would stop collecting, in words; empty when it stops nothing."""
        return []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and CONFIRM_STOP_FIELD not in request.POST:
            obj = self.get_object(request, unquote(object_id)) if object_id else None
            allowed = self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
            if allowed:
                form = self.get_form(request, obj, change=obj is not None)(request.POST, request.FILES, instance=obj)
                stops = self.stopping_changes(request, obj, form) if form.is_valid() else []
                if stops:
                    return self.stop_confirmation_response(request, obj, stops)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def stop_confirmation_response(self, request, obj, stops: list[str]) -> TemplateResponse:
        resent = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in ("csrfmiddlewaretoken", CONFIRM_STOP_FIELD)
            for value in values
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": "Stop collecting data?",
            "opts": self.opts,
            "object": obj,
            "stops": stops,
            "resent": resent,
            "confirm_field": CONFIRM_STOP_FIELD,
            "cancel_url": request.get_full_path(),
        }
        return TemplateResponse(request, self.stop_confirmation_template, context)

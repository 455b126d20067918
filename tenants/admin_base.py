"""The admin's one scoping boundary and its role-based permissions.

Every tenant-owned admin derives from `TenantScopedAdmin`: its `get_queryset` asks
`Model.objects.visible_to(user)` (tenants/scoping.py decides), and everything Django's admin does
(change lists, filters, search, autocomplete, actions, change/history/delete pages, custom views)
goes through it. What another tenant owns does not exist: `get_object` answers 404, not Django's
"doesn't exist" redirect, so the two cases cannot be told apart.

Permissions come from the portal role, never from Django model permissions: tenant admins write
what their admin class allows, support staff only view, superusers write what any admin class allows.
"""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.filters import RelatedFieldListFilter
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from telemetry.pseudonymize import PSEUDONYMS_RE, mask_pseudonym, user_pseudonyms
from tenants.forms import FindUserForm, tenant_of_new_object
from tenants.models import Tenant, is_tenant_scoped
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
        if is_tenant_scoped(related):
            kwargs["queryset"] = related.objects.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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
        return tenant_of_new_object(viewer=request.user, chosen=form.cleaned_data.get("tenant"))

    def tenant_field_needed(self, request) -> bool:
        """Only superusers, who belong to no tenant, choose the tenant of a new object."""
        return admin_tenant_id(request.user) is None


CONFIRM_STOP_FIELD = "_confirm_stop_collection"


class StopCollectionConfirmationMixin:
    """A change that stops collecting data, or deletes stored records (a shorter retention), is shown back
    for confirmation before anything is written.

    The admin answers the first POST of such a change with a confirmation page (CSRF-protected, like
    Django's delete confirmation) that re-posts the same data with CONFIRM_STOP_FIELD; only that
    second POST reaches Django's save path.
    """

    stop_confirmation_template = "admin/tenants/confirm_stop_collection.html"

    def stopping_changes(self, request, obj, form) -> list[str]:
        """What the valid `form` would stop collecting, in words; empty when it stops nothing."""
        return []

    def deleting_changes(self, request, obj, form) -> list[str]:
        """What the valid `form` would delete of the stored records, in words; empty when it deletes nothing."""
        return []

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and CONFIRM_STOP_FIELD not in request.POST:
            obj = self.get_object(request, unquote(object_id)) if object_id else None
            allowed = self.has_change_permission(request, obj) if obj else self.has_add_permission(request)
            if allowed:
                form = self.get_form(request, obj, change=obj is not None)(request.POST, request.FILES, instance=obj)
                valid = form.is_valid()
                stops = self.stopping_changes(request, obj, form) if valid else []
                deletes = self.deleting_changes(request, obj, form) if valid else []
                if stops or deletes:
                    what_if = self.collection_what_if(request, obj, form) if stops else []
                    return self.stop_confirmation_response(request, obj, stops, what_if=what_if, deletes=deletes)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def collection_what_if(self, request, obj, form) -> list[str]:
        """How much the valid `form` would stop (or start) collecting, in numbers (tenants/consequences.py)."""
        return []

    def stop_confirmation_response(self, request, obj, stops: list[str], *, what_if=(), deletes=()) -> TemplateResponse:
        resent = [
            (name, value)
            for name, values in request.POST.lists()
            if name not in ("csrfmiddlewaretoken", CONFIRM_STOP_FIELD)
            for value in values
        ]
        title, button = CONFIRMATION_WORDS[bool(stops), bool(deletes)]
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "confirm_button": button,
            "opts": self.opts,
            "object": obj,
            "stops": stops,
            "what_if": what_if,
            "deletes": deletes,
            "resent": resent,
            "confirm_field": CONFIRM_STOP_FIELD,
            "cancel_url": request.get_full_path(),
        }
        return TemplateResponse(request, self.stop_confirmation_template, context)


# (stops collecting, deletes stored records) -> the confirmation's title and its button.
CONFIRMATION_WORDS = {
    (True, False): (_("Stop collecting data?"), _("Yes, stop collecting")),
    (False, True): (_("Delete stored records?"), _("Yes, delete them")),
    (True, True): (_("Stop collecting data and delete stored records?"), _("Yes, stop collecting and delete")),
}


USER_HASH_VAR = "user_hash"
# The tenant filter of a change list (VisibleTenantFilter on the `tenant` field), as Django names it.
TENANT_FILTER_VAR = "tenant__id__exact"


class LookedUpUserFilter(admin.ListFilter):
    """The rows of one user (`?user_hash=<pseudonyms>`), the target of the find-user form.

    It has no choices of its own: it appears in the sidebar only while in use, with a way back to
    everyone. Nothing but a pseudonym is ever accepted here, so no typed ID is looked up from a URL.
    """

    title = _("user")

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        if USER_HASH_VAR in params:
            self.used_parameters[USER_HASH_VAR] = params.pop(USER_HASH_VAR)[-1]

    def value(self) -> str | None:
        return self.used_parameters.get(USER_HASH_VAR)

    def has_output(self):
        # Django applies only the filters that have output; this one has it exactly when it is used.
        return self.value() is not None

    def expected_parameters(self):
        return [USER_HASH_VAR]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not PSEUDONYMS_RE.match(value):
            raise IncorrectLookupParameters("Not a pseudonym.")
        return queryset.filter(user_hash__in=value.split(","))

    def choices(self, changelist):
        yield {
            "selected": False,
            "query_string": changelist.get_query_string(remove=[USER_HASH_VAR]),
            "display": _("All users"),
        }
        shown = mask_pseudonym(self.value().split(",")[0])
        yield {"selected": True, "query_string": changelist.get_query_string(), "display": shown}


class FindUserByIdMixin:
    """A change list whose rows are found by a person's typed user ID, without the ID in any URL.

    The ID travels only in the body of a CSRF-protected POST: it is hashed on arrival and the
    browser is redirected to the change list filtered by the pseudonym. A GET search would put it
    in access logs, browser history and Referer headers.
    """

    change_list_template = "admin/find_user_change_list.html"
    found_user_text = _("Showing the user you looked up:")
    no_user_text = _("No user with that ID.")

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), LookedUpUserFilter]

    def _url_name(self, view: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{view}"

    def get_urls(self):
        find = self.admin_site.admin_view(self.find_user_view)
        return [path("find-user/", find, name=self._url_name("find_user")), *super().get_urls()]

    def find_user_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        changelist_url = reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name)
        if request.method != "POST":
            return HttpResponseRedirect(changelist_url)
        form = FindUserForm(request.POST, viewer=request.user)
        if not form.is_valid():
            # The messages never repeat the input: it may be a user ID.
            self.message_user(request, next(iter(form.errors.values()))[0], messages.ERROR)
            return HttpResponseRedirect(changelist_url)
        pseudonyms = user_pseudonyms(form.cleaned_data["user_id"], tenant_id=form.tenant_id())
        params = self.found_user_params(request, form, pseudonyms)
        return HttpResponseRedirect(f"{changelist_url}?{urlencode(params)}")

    def found_user_params(self, request, form, pseudonyms: list[str]) -> dict:
        """The query of the change list that shows the user found: their pseudonyms, never the typed ID."""
        return {USER_HASH_VAR: ",".join(pseudonyms)}

    def changelist_view(self, request, extra_context=None):
        looked_up = request.GET.get(USER_HASH_VAR, "")
        context = {
            "find_user_form": FindUserForm(viewer=request.user),
            "find_user_url": reverse(f"admin:{self._url_name('find_user')}", current_app=self.admin_site.name),
            "looked_up_user": mask_pseudonym(looked_up.split(",")[0]) if PSEUDONYMS_RE.match(looked_up) else None,
            "found_user_text": self.found_user_text,
            "no_user_text": self.no_user_text,
            "all_users_url": reverse(f"admin:{self._url_name('changelist')}", current_app=self.admin_site.name),
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})

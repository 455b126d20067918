"""The admin portal of tenants: policies, topology, end users, ingestion keys and the audit log.

Scoping and permissions live in tenants/admin_base.py; every write below is a call to
tenants/services.py with the signed-in user as the actor, so the audit log records it.
"""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from portal.admin_paging import CountFreeListMixin
from portal.admin_site import OWN_TENANT_LABEL
from telemetry.policy import (
    CENSUS_EXPLANATION,
    MEETINGS_APP_PER_POOL_NOTE,
    decided_by,
    on_off,
    opt_in_state_words,
    opted_in_words,
    setting_value_words,
)
from telemetry.pseudonymize import PSEUDONYMS_RE, mask_pseudonym
from telemetry.vocabulary import ScopeKind
from tenants import services
from tenants.admin_base import (
    TENANT_FILTER_VAR,
    USER_HASH_VAR,
    FindUserByIdMixin,
    StopCollectionConfirmationMixin,
    TenantScopedAdmin,
    actor_of,
    is_superuser,
    is_tenant_admin,
    sees_many_tenants,
)
from tenants.consequences import (
    client_policy_started,
    client_policy_what_if,
    meeting_ux_started,
    meeting_ux_what_if,
    retention_what_if,
)
from tenants.forms import (
    IngestionKeyAddForm,
    PoolAddForm,
    SiteAddForm,
    TenantAddForm,
    TenantPolicyForm,
    WebServiceConfigurationAddForm,
    WebServiceConfigurationChangeForm,
    meeting_ux_stopping_changes,
)
from tenants.models import AuditLogEntry, EndUser, IngestionKey, Pool, Site, Tenant, WebServiceConfiguration
from tenants.scoping import admin_tenant_id
from tenants.selectors import (
    effective_policy_of,
    end_user_explainer,
    meeting_ux_configurations,
    meeting_ux_shadowing_warnings,
    opted_in_user_count,
    pools_with_effective_meeting_ux,
    web_service_configurations_ordered,
)

POLICIES_TITLE = _("Data collection policies")


def days_words(days: int) -> str:
    """A retention as people read it: "3,650 days", grouped as the language groups digits."""
    return ngettext("%(days)s day", "%(days)s days", days) % {"days": number_format(days, force_grouping=True)}


def adopt(form_instance, saved) -> None:
    """Make the admin's unsaved form instance the row a service saved, for Django's log and redirect."""
    form_instance.__dict__.update(saved.__dict__)


def with_viewer(form_class, request):
    """The admin's form class bound to the viewer whose visible rows limit its choices."""
    return type(form_class.__name__, (form_class,), {"viewer": request.user})


@admin.register(Tenant)
class TenantAdmin(StopCollectionConfirmationMixin, TenantScopedAdmin):
    tenant_admin_may_change = True
    list_display = ("name", "slug", "domain", "usage_collection", "watson_uploads")
    search_fields = ("name", "slug", "domain")
    change_form_template = "admin/tenants/tenant/change_form.html"

    def get_list_display(self, request):
        return self.list_display

    def get_list_filter(self, request):
        return ()

    def has_add_permission(self, request):
        return is_superuser(request)

    def has_delete_permission(self, request, obj=None):
        # No service deletes a tenant: a cascade would erase its audit log with it.
        return False

    @admin.display(description=_("Usage data collection"))
    def usage_collection(self, obj):
        return on_off(obj.usage_collection_enabled)

    @admin.display(description=_("Windows crash uploads"))
    def watson_uploads(self, obj):
        return on_off(obj.watson_enabled)

    @admin.display(description=_("Census"))
    def census(self, obj):
        return CENSUS_EXPLANATION

    @admin.display(description=_("Usage records kept for"))
    def usage_retention(self, obj):
        return days_words(obj.usage_retention_days)

    @admin.display(description=_("Error reports kept for"))
    def error_report_retention(self, obj):
        return days_words(obj.error_report_retention_days)

    @admin.display(description=_("Erase a user's error reports when they opt out"))
    def erase_on_opt_out_words(self, obj):
        return on_off(obj.erase_error_reports_on_opt_out)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = TenantPolicyForm if obj is not None else TenantAddForm
        return with_viewer(super().get_form(request, obj, change, **kwargs), request)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["slug", "name", "domain"]})]
        if self.has_change_permission(request, obj):
            policies = ["usage_collection_enabled", "census", "watson_uploads_enabled"]
            retention = ["keep_usage_days", "keep_error_report_days", "erase_on_opt_out"]
        else:
            policies = ["usage_collection", "census", "watson_uploads"]
            retention = ["usage_retention", "error_report_retention", "erase_on_opt_out_words"]
        return [
            (_("Organization"), {"fields": ["name", "slug", "domain"]}),
            (_("Policies"), {"fields": policies}),
            (_("Retention"), {"fields": retention, "classes": ["portal-retention"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return (
            "name",
            "slug",
            "domain",
            "usage_collection",
            "census",
            "watson_uploads",
            "usage_retention",
            "error_report_retention",
            "erase_on_opt_out_words",
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(self.meeting_ux_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def meeting_ux_context(self, request, tenant) -> dict:
        configuration_admin = self.admin_site.get_model_admin(WebServiceConfiguration)
        configurations = web_service_configurations_ordered(tenant=tenant)
        return {
            "meeting_ux_configurations": [
                {
                    "identity": row.identity,
                    "value": on_off(row.meeting_ux_enable_telemetry),
                    "url": reverse("admin:tenants_webserviceconfiguration_change", args=[row.pk]),
                }
                for row in configurations
            ],
            "meeting_ux_pools": [
                {
                    "fqdn": pool.fqdn,
                    "site": pool.site.name if pool.site_id else "",
                    "value": on_off(setting.enabled),
                    "decided_by": decided_by(setting),
                }
                for pool, setting in pools_with_effective_meeting_ux(tenant=tenant)
            ],
            "meeting_ux_add_url": reverse("admin:tenants_webserviceconfiguration_add")
            if configuration_admin.has_add_permission(request)
            else None,
            "opted_in_words": opted_in_words(opted_in_user_count(tenant=tenant)),
            "shadowing_warnings": meeting_ux_shadowing_warnings(tenant=tenant),
        }

    def stopping_changes(self, request, obj, form):
        return form.stopping_changes() if obj is not None else []

    def deleting_changes(self, request, obj, form):
        return retention_what_if(tenant=obj, **form.chosen_retention()) if obj is not None else []

    def own_tenant_context(self, request) -> dict:
        """For a tenant admin, their tenant is "Your organization", not one row of "Tenants"."""
        return {"own_tenant_label": OWN_TENANT_LABEL} if is_tenant_admin(request) else {}

    def changelist_view(self, request, extra_context=None):
        # A tenant admin's list would hold one row: their organization's page is the list.
        own_tenant_id = admin_tenant_id(request.user)
        if own_tenant_id is not None:
            return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[own_tenant_id]))
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = self.own_tenant_context(request)
        if context:
            # Saving already brings a tenant admin back to this page.
            context.update(title=POLICIES_TITLE, show_save_and_continue=False)
        return super().change_view(request, object_id, form_url, {**context, **(extra_context or {})})

    def history_view(self, request, object_id, extra_context=None):
        return super().history_view(request, object_id, {**self.own_tenant_context(request), **(extra_context or {})})

    def collection_what_if(self, request, obj, form):
        return client_policy_what_if(tenant=obj, new=form.chosen_policy()) if obj is not None else []

    def stop_confirmation_response(self, request, obj, stops, *, what_if=(), deletes=()):
        response = super().stop_confirmation_response(request, obj, stops, what_if=what_if, deletes=deletes)
        response.context_data.update(self.own_tenant_context(request))
        return response

    def response_change(self, request, obj):
        if not is_tenant_admin(request):
            return super().response_change(request, obj)
        # Django's "The tenant “Contoso” was changed" and its list of one are not a tenant admin's words.
        self.message_user(request, gettext("Your organization's data collection policies are saved."), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:tenants_tenant_change", args=[obj.pk]))

    def save_model(self, request, obj, form, change):
        actor = actor_of(request)
        if not change:
            adopt(obj, services.tenant_create(**form.cleaned_data, actor=actor))
            return
        # Said once saved, in the numbers a confirmation would show: a start needs none (nothing is lost).
        started = client_policy_started(tenant=obj, new=form.chosen_policy())
        chosen = form.cleaned_data
        for setting, value in (
            (services.CLIENT_POLICY, not chosen["usage_collection_enabled"]),
            (services.WATSON, chosen["watson_uploads_enabled"]),
            (services.USAGE_RETENTION, chosen["keep_usage_days"]),
            (services.ERROR_REPORT_RETENTION, chosen["keep_error_report_days"]),
            (services.ERASE_ON_OPT_OUT, chosen["erase_on_opt_out"]),
        ):
            services.tenant_setting_set(tenant=obj, setting=setting, value=value, actor=actor)
        for message in started:
            self.message_user(request, message, messages.INFO)


@admin.register(WebServiceConfiguration)
class WebServiceConfigurationAdmin(StopCollectionConfirmationMixin, TenantScopedAdmin):
    tenant_admin_may_add = True
    tenant_admin_may_change = True
    tenant_admin_may_delete = True
    list_display = ("scope_identity", "meeting_ux_telemetry", "updated_at")
    list_select_related = ("tenant", "site", "pool")
    readonly_fields = ("scope_identity", "meeting_ux_telemetry", "updated_at", "tenant")
    # Removing goes one configuration at a time, through its confirmation page.
    actions = None

    def changelist_view(self, request, extra_context=None):
        # A list of settings to read, not Django's "Select … to change".
        title = {"title": capfirst(self.opts.verbose_name_plural)}
        return super().changelist_view(request, {**title, **(extra_context or {})})

    def add_view(self, request, form_url="", extra_context=None):
        title = {"title": gettext("Add a Meetings App setting")}
        return super().add_view(request, form_url, {**title, **(extra_context or {})})

    def delete_view(self, request, object_id, extra_context=None):
        title = {"title": gettext("Remove a Meetings App setting")}
        return super().delete_view(request, object_id, {**title, **(extra_context or {})})

    @admin.display(description=_("Scope"))
    def scope_identity(self, obj):
        return obj.identity

    @admin.display(description=_("Meetings App telemetry"))
    def meeting_ux_telemetry(self, obj):
        return on_off(obj.meeting_ux_enable_telemetry)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.scope == ScopeKind.GLOBAL:
            return False
        return super().has_delete_permission(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = WebServiceConfigurationChangeForm if obj is not None else WebServiceConfigurationAddForm
        return with_viewer(super().get_form(request, obj, change, **kwargs), request)

    def get_fields(self, request, obj=None):
        if obj is None:
            chooser = ["owner_tenant"] if self.tenant_field_needed(request) else []
            return [*chooser, "scope_kind", "scope_site", "scope_pool", "meeting_ux"]
        value = "meeting_ux" if self.has_change_permission(request, obj) else "meeting_ux_telemetry"
        return ["tenant", "scope_identity", value, "updated_at"]

    def _tenant_of_new(self, request, form):
        if self.tenant_field_needed(request):
            return form.cleaned_data["owner_tenant"]
        return self.tenant_for_write(request, form)

    def stopping_changes(self, request, obj, form):
        if obj is not None:
            return meeting_ux_stopping_changes(
                tenant=obj.tenant,
                identity=obj.identity,
                old_value=obj.meeting_ux_enable_telemetry,
                new_value=form.cleaned_data["meeting_ux"],
            )
        tenant = self._tenant_of_new(request, form)
        identity = form.scope().identity
        return meeting_ux_stopping_changes(
            tenant=tenant,
            identity=identity,
            old_value=meeting_ux_configurations(tenant=tenant).get(identity),
            new_value=form.cleaned_data["meeting_ux"],
        )

    def collection_what_if(self, request, obj, form):
        if obj is not None:
            tenant, identity = obj.tenant, obj.identity
        else:
            tenant, identity = self._tenant_of_new(request, form), form.scope().identity
        return meeting_ux_what_if(tenant=tenant, identity=identity, new_value=form.cleaned_data["meeting_ux"])

    def save_model(self, request, obj, form, change):
        if change:
            tenant = obj.tenant
            scope = services.Scope(kind=obj.scope, site=obj.site, pool=obj.pool)
        else:
            tenant = self._tenant_of_new(request, form)
            scope = form.scope()
        started = meeting_ux_started(tenant=tenant, identity=scope.identity, new_value=form.cleaned_data["meeting_ux"])
        saved = services.web_service_configuration_set(
            tenant=tenant,
            scope=scope,
            meeting_ux_enable_telemetry=form.cleaned_data["meeting_ux"],
            actor=actor_of(request),
        )
        adopt(obj, saved)
        for message in started:
            self.message_user(request, message, messages.INFO)
        # Said on the spot: a value that a more specific scope overrides does not do what it seems to.
        for warning in meeting_ux_shadowing_warnings(tenant=tenant, identity=scope.identity):
            self.message_user(request, warning, messages.WARNING)

    def delete_model(self, request, obj):
        services.web_service_configuration_remove(
            tenant=obj.tenant,
            scope=services.Scope(kind=obj.scope, site=obj.site, pool=obj.pool),
            actor=actor_of(request),
        )

    def render_delete_form(self, request, context):
        obj = context["object"]
        context["stops"] = meeting_ux_stopping_changes(
            tenant=obj.tenant, identity=obj.identity, old_value=obj.meeting_ux_enable_telemetry, new_value=None
        )
        context["what_if"] = meeting_ux_what_if(tenant=obj.tenant, identity=obj.identity, new_value=None)
        return super().render_delete_form(request, context)


@admin.register(Site)
class SiteAdmin(TenantScopedAdmin):
    tenant_admin_may_add = True
    list_display = ("name", "created_at")
    search_fields = ("name",)
    form = SiteAddForm

    def get_form(self, request, obj=None, change=False, **kwargs):
        return with_viewer(super().get_form(request, obj, change, **kwargs), request)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "name"] if self.tenant_field_needed(request) else ["name"]
        return ["tenant", "name", "created_at"]

    def save_model(self, request, obj, form, change):
        site = services.site_create(
            tenant=self.tenant_for_write(request, form), name=form.cleaned_data["name"], actor=actor_of(request)
        )
        adopt(obj, site)


def effective_policy_html(lines) -> str:
    """The explainer of one pool as a list: each category collected or not, its rule and scope."""
    return format_html(
        '<ul class="portal-effective-policy">{}</ul>',
        format_html_join(
            "",
            '<li><strong>{}</strong>: {} <span class="help">({})</span></li>',
            (
                (
                    line.category,
                    line.collected_words,
                    gettext("%(rule)s; decided by %(scope)s") % {"rule": line.rule, "scope": line.scope},
                )
                for line in lines
            ),
        ),
    )


@admin.register(Pool)
class PoolAdmin(TenantScopedAdmin):
    tenant_admin_may_add = True
    list_display = ("fqdn", "site", "what_is_collected", "created_at")
    list_select_related = ("tenant", "site")
    search_fields = ("fqdn",)
    autocomplete_fields = ("site",)
    readonly_fields = ("what_is_collected",)
    form = PoolAddForm

    @admin.display(description=_("What is collected for meetings on this pool"))
    def what_is_collected(self, obj):
        configurations = getattr(obj, "tenant_configurations", None)
        lines = effective_policy_of(tenant=obj.tenant, pool=obj, user_opted_in=None, configurations=configurations)
        return effective_policy_html(lines)

    def get_changelist_instance(self, request):
        # One query of configurations per tenant on the page, not one per row.
        changelist = super().get_changelist_instance(request)
        by_tenant = {}
        for pool in changelist.result_list:
            if pool.tenant_id not in by_tenant:
                by_tenant[pool.tenant_id] = meeting_ux_configurations(tenant=pool.tenant)
            pool.tenant_configurations = by_tenant[pool.tenant_id]
        return changelist

    def get_form(self, request, obj=None, change=False, **kwargs):
        return with_viewer(super().get_form(request, obj, change, **kwargs), request)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "fqdn", "site"] if self.tenant_field_needed(request) else ["fqdn", "site"]
        return ["tenant", "fqdn", "site", "what_is_collected", "created_at"]

    def save_model(self, request, obj, form, change):
        pool = services.pool_create(
            tenant=self.tenant_for_write(request, form),
            fqdn=form.cleaned_data["fqdn"],
            site=form.cleaned_data.get("site"),
            actor=actor_of(request),
        )
        adopt(obj, pool)


@admin.register(EndUser)
class EndUserAdmin(FindUserByIdMixin, CountFreeListMixin, TenantScopedAdmin):
    """Read-only for everyone: the opt-in is the user's own choice, made from their client.

    Users are found by their typed user ID through the find-user form (a POST), never a GET search.
    A tenant may have millions of users: the list never counts them and is ordered by an index.
    """

    ordering = ("-id",)
    list_display = ("pseudonym", "error_reporting_opted_in", "opt_in_changed_at", "created_at")
    list_filter = ("error_reporting_opted_in",)
    fields = ("tenant", "pseudonym", "error_reporting_opted_in", "opt_in_changed_at", "created_at")

    no_user_text = _(
        "No user with that ID. Their client has never sent an opt-in, so the directory does not list them."
    )

    @admin.display(description=_("Pseudonym"))
    def pseudonym(self, obj):
        return mask_pseudonym(obj.user_hash)

    def found_user_params(self, request, form, pseudonyms) -> dict:
        # Pseudonyms are per organization: those who see several keep the one they chose, for the explainer.
        params = super().found_user_params(request, form, pseudonyms)
        if sees_many_tenants(request):
            params[TENANT_FILTER_VAR] = form.tenant_id()
        return params

    def explained_tenant(self, request) -> Tenant | None:
        """The organization of the looked-up user: a tenant admin's own, or the one chosen in the filter."""
        visible = Tenant.objects.visible_to(request.user)
        own = admin_tenant_id(request.user)
        if own is not None:
            return visible.filter(pk=own).first()
        chosen = request.GET.get(TENANT_FILTER_VAR, "")
        return visible.filter(pk=int(chosen)).first() if chosen.isdigit() else None

    def user_explainer_context(self, request) -> dict:
        """What is collected for the looked-up user, per client: from the pseudonyms in the URL, never an ID."""
        looked_up = request.GET.get(USER_HASH_VAR, "")
        tenant = self.explained_tenant(request) if PSEUDONYMS_RE.match(looked_up) else None
        if tenant is None:
            return {}
        explainer = end_user_explainer(tenant=tenant, pseudonyms=looked_up.split(","))
        return {
            "user_explainer": {
                "organization": tenant.name,
                "opt_in": opt_in_state_words(known=explainer.known, opted_in=explainer.opted_in),
                "clients": [(client, effective_policy_html(lines)) for client, lines in explainer.clients],
                "meetings_note": MEETINGS_APP_PER_POOL_NOTE,
                "pools_url": reverse("admin:tenants_pool_changelist"),
            }
        }

    def changelist_view(self, request, extra_context=None):
        # Erasing is a change to the organization's data: tenant admins and superusers, never support.
        may_erase = is_tenant_admin(request) or is_superuser(request)
        context = {
            "erase_url": reverse("erase_end_user") if may_erase else None,
            **self.user_explainer_context(request),
        }
        return super().changelist_view(request, {**context, **(extra_context or {})})


NEW_KEY_COOKIE = "portal_new_key"
NEW_KEY_SECONDS = 300
NEW_KEY_SHOWN_ONCE = _(
    "The key %(prefix)s… was shown once, when it was created, and cannot be shown again. "
    "If it was not copied, create a new key and revoke this one."
)


def new_key_salt(key) -> str:
    return f"tenants.ingestionkey.created.{key.pk}"


@admin.register(IngestionKey)
class IngestionKeyAdmin(TenantScopedAdmin):
    """Keys are created and revoked, never edited; the secret is shown once, the hash never."""

    tenant_admin_may_add = True
    list_display = ("shown_prefix", "label", "created_at", "created_by", "status", "last_used")
    search_fields = ("prefix", "label")
    readonly_fields = ("shown_prefix", "status", "created_at", "created_by", "revoked_at", "last_used")
    actions = ("revoke_selected",)
    form = IngestionKeyAddForm
    created_template = "admin/tenants/ingestionkey/created.html"
    revoke_template = "admin/tenants/ingestionkey/revoke_confirmation.html"

    @admin.display(description=_("Key"), ordering="prefix")
    def shown_prefix(self, obj):
        return f"{obj.prefix}…"

    @admin.display(description=_("Last used (UTC day)"), ordering="last_used_on")
    def last_used(self, obj):
        return date_format(obj.last_used_on, "SHORT_DATE_FORMAT") if obj.last_used_on else gettext("Never")

    @admin.display(description=_("Status"))
    def status(self, obj):
        if obj.is_active:
            return pgettext("ingestion key status", "Active")
        return gettext("Revoked %(time)s UTC") % {"time": date_format(obj.revoked_at, "SHORT_DATETIME_FORMAT")}

    def has_revoke_permission(self, request, obj=None):
        return self._may_write(request, True)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["tenant", "label"] if self.tenant_field_needed(request) else ["label"]
        return ["tenant", "shown_prefix", "label", "status", "created_at", "created_by", "last_used"]

    def save_model(self, request, obj, form, change):
        issued = services.ingestion_key_create(
            tenant=self.tenant_for_write(request, form), label=form.cleaned_data["label"], actor=actor_of(request)
        )
        adopt(obj, issued.key)
        # Handed to response_add on the request's own object, never kept anywhere.
        obj.issued_secret = issued.secret

    def response_add(self, request, obj, post_url_continue=None):
        # Post/redirect/get: a reload of the page that shows the key must not create another. The
        # secret crosses the redirect in a signed, short-lived cookie of that page alone (never the
        # session, which lives in the database), and the page forgets it as it shows it.
        created_url = reverse("admin:tenants_ingestionkey_created", args=[obj.pk])
        response = HttpResponseRedirect(created_url)
        response.set_signed_cookie(
            NEW_KEY_COOKIE,
            obj.issued_secret,
            salt=new_key_salt(obj),
            max_age=NEW_KEY_SECONDS,
            path=created_url,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Strict",
        )
        return response

    def created_view(self, request, object_id):
        key = self.get_object(request, unquote(object_id))
        if not self.has_view_permission(request, key):
            raise PermissionDenied
        created_url = reverse("admin:tenants_ingestionkey_created", args=[key.pk])
        secret = request.get_signed_cookie(
            NEW_KEY_COOKIE, default=None, salt=new_key_salt(key), max_age=NEW_KEY_SECONDS
        )
        if secret is None or not services.ingestion_key_matches(key=key, secret=secret):
            self.message_user(request, NEW_KEY_SHOWN_ONCE % {"prefix": key.prefix}, messages.WARNING)
            response = HttpResponseRedirect(reverse("admin:tenants_ingestionkey_change", args=[key.pk]))
        else:
            context = {
                **self.admin_site.each_context(request),
                "title": gettext("Ingestion key created"),
                "opts": self.opts,
                "key": key,
                "secret": secret,
                "changelist_url": reverse("admin:tenants_ingestionkey_changelist"),
            }
            response = TemplateResponse(request, self.created_template, context)
        response.delete_cookie(NEW_KEY_COOKIE, path=created_url, samesite="Strict")
        add_never_cache_headers(response)
        return response

    def get_urls(self):
        revoke = self.admin_site.admin_view(self.revoke_view)
        created = self.admin_site.admin_view(self.created_view)
        return [
            path("<path:object_id>/revoke/", revoke, name="tenants_ingestionkey_revoke"),
            path("<path:object_id>/created/", created, name="tenants_ingestionkey_created"),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.is_active and self.has_revoke_permission(request, obj):
            context["revoke_url"] = reverse("admin:tenants_ingestionkey_revoke", args=[obj.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def revoke_view(self, request, object_id):
        key = self.get_object(request, unquote(object_id))
        if not self.has_revoke_permission(request, key):
            raise PermissionDenied
        change_url = reverse("admin:tenants_ingestionkey_change", args=[key.pk])
        if not key.is_active:
            self.message_user(
                request, gettext("The key %(prefix)s… is already revoked.") % {"prefix": key.prefix}, messages.WARNING
            )
            return HttpResponseRedirect(change_url)
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            self._revoke(request, [key])
            return HttpResponseRedirect(change_url)
        return self._revoke_confirmation(request, [key], cancel_url=change_url)

    @admin.action(description=_("Revoke selected ingestion keys"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        keys = list(queryset.filter(revoked_at=None).select_related("tenant"))
        if not keys:
            self.message_user(request, gettext("None of the selected keys is active."), messages.WARNING)
            return None
        if request.POST.get("confirm") == "yes":
            self._revoke(request, keys)
            return None
        return self._revoke_confirmation(
            request, keys, cancel_url=reverse("admin:tenants_ingestionkey_changelist"), action="revoke_selected"
        )

    def _revoke(self, request, keys) -> None:
        actor = actor_of(request)
        for key in keys:
            services.ingestion_key_revoke(tenant=key.tenant, prefix=key.prefix, actor=actor)
        prefixes = ", ".join(f"{key.prefix}…" for key in keys)
        self.message_user(
            request, gettext("Revoked: %(keys)s. Clients using them are refused from now on.") % {"keys": prefixes}
        )

    def _revoke_confirmation(self, request, keys, *, cancel_url, action=None):
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Revoke ingestion keys?"),
            "opts": self.opts,
            "keys": keys,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "cancel_url": cancel_url,
        }
        return TemplateResponse(request, self.revoke_template, context)


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(TenantScopedAdmin):
    # The setting's own name and old/new values are on each entry's page; the list says it in words.
    list_display = ("created_at", "actor", "summary")
    list_filter = ("action",)
    search_fields = ("target", "actor")
    fields = ("created_at", "tenant", "actor", "summary", "action", "target", "field", "old", "new")
    readonly_fields = ("summary", "old", "new")

    @admin.display(description=pgettext_lazy("audit log column", "Change"))
    def summary(self, obj):
        return obj.summary

    @admin.display(description=_("Old value"))
    def old(self, obj):
        return setting_value_words(obj.old_value)

    @admin.display(description=_("New value"))
    def new(self, obj):
        return setting_value_words(obj.new_value)

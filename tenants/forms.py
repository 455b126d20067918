"""Admin forms: policies as people think of them. They validate and describe; services write."""

from django import forms
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import format_lazy
from django.utils.translation import gettext, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from telemetry.policy import (
    ERASE_ON_OPT_OUT_HELP,
    MEETING_UX_HELP,
    OFF,
    ON,
    RETENTION_ERROR_REPORT_HELP,
    RETENTION_USAGE_HELP,
    USAGE_HELP,
    WATSON_HELP,
    TenantPolicy,
    meeting_ux_stops,
    stops_collection,
)
from telemetry.records import NAME, RETENTION_BOUNDS
from telemetry.vocabulary import ScopeKind
from tenants import services
from tenants.models import IngestionKey, Pool, Site, Tenant, WebServiceConfiguration
from tenants.scoping import admin_tenant_id
from tenants.selectors import meeting_ux_stopping_pools
from tenants.services import PortalError, Scope

ON_OFF = [(True, ON), (False, OFF)]


def on_off_field(*, label: str, help_text: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=ON_OFF,
        coerce=lambda value: value in (True, "True"),
        widget=forms.RadioSelect,
        help_text=help_text,
    )


class NoEchoTextInput(forms.TextInput):
    """A text box that never renders what was typed back into a page (a user ID may be in it)."""

    def format_value(self, value):
        return None


class FindUserForm(forms.Form):
    """A user ID typed to be looked up by its keyed hash. Its errors never repeat the input.

    Pseudonyms are per tenant, so the ID is looked up in one tenant: a tenant admin's own, or the one
    that support staff choose (the viewer sees several); never across tenants at once.
    """

    tenant = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=Tenant.objects.none(),
        to_field_name="slug",
        error_messages={"required": _("Choose the organization the user belongs to.")},
    )
    user_id = forms.CharField(
        label=_("User ID"),
        max_length=NAME,
        error_messages={
            "required": _("Type the user ID to look up."),
            # Django fills in limit_value (NAME) as it validates.
            "max_length": ngettext_lazy(
                "A user ID is at most %(limit_value)d character.",
                "A user ID is at most %(limit_value)d characters.",
                "limit_value",
            ),
        },
        # Browsers keep what is typed into text fields for autofill unless told not to.
        widget=NoEchoTextInput(attrs={"autocomplete": "off", "spellcheck": "false", "size": 30}),
    )

    def __init__(self, *args, viewer, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_tenant_id = admin_tenant_id(viewer)
        if self.own_tenant_id is not None:
            del self.fields["tenant"]
        else:
            self.fields["tenant"].queryset = Tenant.objects.visible_to(viewer).order_by("name")
        self.order_fields(["tenant", "user_id"])

    def tenant_id(self) -> int:
        return self.own_tenant_id if self.own_tenant_id is not None else self.cleaned_data["tenant"].pk


def tenant_of_new_object(*, viewer, chosen: Tenant | None) -> Tenant | None:
    """The tenant a new object belongs to: a tenant admin's own; superusers choose (`chosen`)."""
    tenant_id = admin_tenant_id(viewer)
    if tenant_id is not None:
        return Tenant.objects.visible_to(viewer).get(pk=tenant_id)
    return chosen


class ViewerScopedForm(forms.ModelForm):
    """A form whose choices are limited to what its viewer may see (set per request by the admin)."""

    viewer = None

    def tenant_of_new_object(self) -> Tenant | None:
        return tenant_of_new_object(viewer=self.viewer, chosen=self.cleaned_data.get("tenant"))

    def service_check(self, field: str, check, **kwargs):
        """Run one of the services' checks; its refusal becomes an error on `field`, input kept."""
        try:
            return check(**kwargs)
        except PortalError as error:
            self.add_error(field, str(error))
            return None


class TenantAddForm(ViewerScopedForm):
    class Meta:
        model = Tenant
        fields = ["slug", "name", "domain"]

    def clean(self):
        cleaned = super().clean()
        if "slug" in cleaned:
            self.service_check("slug", services.tenant_slug_check, slug=cleaned["slug"])
        if "domain" in cleaned:
            self.service_check("domain", services.normalize_fqdn, fqdn=cleaned["domain"])
        return cleaned


RETENTION_DAYS_INVALID_MESSAGE = format_lazy(
    _("Enter a whole number of days from {low} to {high}."), low=RETENTION_BOUNDS[0], high=RETENTION_BOUNDS[1]
)
# The same in English, a plain string that tests look for in a page; the form shows the message above.
RETENTION_DAYS_INVALID = f"Enter a whole number of days from {RETENTION_BOUNDS[0]} to {RETENTION_BOUNDS[1]}."


def retention_days_field(*, label: str, help_text: str) -> forms.IntegerField:
    low, high = RETENTION_BOUNDS
    message = RETENTION_DAYS_INVALID_MESSAGE
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        help_text=help_text,
        error_messages={"required": message, "invalid": message, "min_value": message, "max_value": message},
        widget=forms.NumberInput(attrs={"class": "portal-days"}),
    )


RETENTION_FIELDS = ("keep_usage_days", "keep_error_report_days", "erase_on_opt_out")


class TenantPolicyForm(forms.ModelForm):
    usage_collection_enabled = on_off_field(label=_("Usage data collection"), help_text=USAGE_HELP)
    watson_uploads_enabled = on_off_field(label=_("Windows crash uploads"), help_text=WATSON_HELP)
    # Not named after the model's fields: a ModelForm would copy those onto the instance as it validates,
    # and the confirmation compares the new days with the tenant's.
    keep_usage_days = retention_days_field(label=_("Keep usage records for (days)"), help_text=RETENTION_USAGE_HELP)
    keep_error_report_days = retention_days_field(
        label=_("Keep error reports for (days)"), help_text=RETENTION_ERROR_REPORT_HELP
    )
    erase_on_opt_out = on_off_field(
        label=_("Erase a user's error reports when they opt out"), help_text=ERASE_ON_OPT_OUT_HELP
    )

    class Meta:
        model = Tenant
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        initial = {
            "usage_collection_enabled": self.instance.usage_collection_enabled,
            "watson_uploads_enabled": self.instance.watson_enabled,
            "keep_usage_days": self.instance.usage_retention_days,
            "keep_error_report_days": self.instance.error_report_retention_days,
            "erase_on_opt_out": self.instance.erase_error_reports_on_opt_out,
        }
        for name, value in initial.items():
            if name in self.fields:
                self.fields[name].initial = value
        if self.is_bound:
            # As with set_cs_retention, a setting the request does not name stays as it is (a script, or a
            # page rendered before these fields existed); one named empty is an error like any other.
            self.data = self.data.copy()
            for name in RETENTION_FIELDS:
                if name in self.fields and name not in self.data:
                    self.data[name] = initial[name]

    def chosen_policy(self) -> TenantPolicy:
        return TenantPolicy(
            disable_automatic_send_tracing=not self.cleaned_data["usage_collection_enabled"],
            watson_enabled=self.cleaned_data["watson_uploads_enabled"],
        )

    def stopping_changes(self) -> list[str]:
        """What this change stops collecting, in words; empty when it stops nothing."""
        return stops_collection(self.instance.policy, self.chosen_policy())

    def chosen_retention(self) -> dict[str, int]:
        """The retentions chosen (the Tenant fields' names), to compare with the tenant's."""
        return {
            "usage_days": self.cleaned_data["keep_usage_days"],
            "error_report_days": self.cleaned_data["keep_error_report_days"],
        }


# The link stays in the sentence: its words and their place are the translator's to choose.
SETTING_EXISTS = _('A Meetings App setting at {identity} already exists: <a href="{url}">change that one</a> instead.')
SITE_BESIDE_SCOPE = _(
    "A site is chosen only with the Site scope, not with the {scope} scope: clear it or change the scope."
)
POOL_BESIDE_SCOPE = _(
    "A pool is chosen only with the Pool scope, not with the {scope} scope: clear it or change the scope."
)
# The same, when no scope is chosen (the scope field says it is required).
SITE_WITHOUT_SCOPE = _("A site is chosen only with the Site scope, not with this scope: clear it or change the scope.")
POOL_WITHOUT_SCOPE = _("A pool is chosen only with the Pool scope, not with this scope: clear it or change the scope.")


class WebServiceConfigurationAddForm(ViewerScopedForm):
    owner_tenant = forms.ModelChoiceField(label=_("Tenant"), queryset=Tenant.objects.none())
    scope_kind = forms.ChoiceField(label=_("Scope"), choices=ScopeKind.choices)
    scope_site = forms.ModelChoiceField(
        label=_("Site"), queryset=Site.objects.none(), required=False, help_text=_("For the Site scope.")
    )
    scope_pool = forms.ModelChoiceField(
        label=_("Pool"), queryset=Pool.objects.none(), required=False, help_text=_("For the Pool scope.")
    )
    meeting_ux = on_off_field(label=_("Meetings App telemetry"), help_text=MEETING_UX_HELP)

    class Meta:
        model = WebServiceConfiguration
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if admin_tenant_id(self.viewer) is not None:
            # A tenant admin's configurations belong to their tenant; only superusers choose.
            del self.fields["owner_tenant"]
        else:
            self.fields["owner_tenant"].queryset = Tenant.objects.visible_to(self.viewer)
        self.fields["scope_site"].queryset = Site.objects.visible_to(self.viewer)
        self.fields["scope_pool"].queryset = Pool.objects.visible_to(self.viewer)
        self.fields["meeting_ux"].initial = False

    def clean(self):
        cleaned = super().clean()
        kind, site, pool = cleaned.get("scope_kind"), cleaned.get("scope_site"), cleaned.get("scope_pool")
        kinds = ScopeKind
        if kind == kinds.SITE and site is None:
            self.add_error("scope_site", gettext("Choose the site this configuration applies to."))
        if kind == kinds.SERVICE and pool is None:
            self.add_error("scope_pool", gettext("Choose the pool this configuration applies to."))
        # A choice the scope does not use would be silently dropped: refuse it, so nobody believes
        # they set a pool's value while setting a site's.
        if site is not None and kind != kinds.SITE:
            self.add_error(
                "scope_site", SITE_BESIDE_SCOPE.format(scope=ScopeKind(kind).label) if kind else str(SITE_WITHOUT_SCOPE)
            )
        if pool is not None and kind != kinds.SERVICE:
            self.add_error(
                "scope_pool", POOL_BESIDE_SCOPE.format(scope=ScopeKind(kind).label) if kind else str(POOL_WITHOUT_SCOPE)
            )
        cleaned["scope_site"] = site if kind == kinds.SITE else None
        cleaned["scope_pool"] = pool if kind == kinds.SERVICE else None
        tenant = tenant_of_new_object(viewer=self.viewer, chosen=cleaned.get("owner_tenant"))
        target = cleaned["scope_site"] or cleaned["scope_pool"]
        if tenant is not None and target is not None and target.tenant_id != tenant.pk:
            self.add_error(
                None, gettext("%(target)s does not belong to %(tenant)s.") % {"target": target, "tenant": tenant}
            )
        elif tenant is not None and kind and not self.errors:
            existing = WebServiceConfiguration.objects.filter(tenant=tenant, **self.scope().lookup()).first()
            if existing is not None:
                url = reverse("admin:tenants_webserviceconfiguration_change", args=[existing.pk])
                self.add_error(None, format_html(SETTING_EXISTS, url=url, identity=existing.identity))
        return cleaned

    def scope(self) -> Scope:
        return Scope(
            kind=self.cleaned_data["scope_kind"],
            site=self.cleaned_data["scope_site"],
            pool=self.cleaned_data["scope_pool"],
        )


class WebServiceConfigurationChangeForm(forms.ModelForm):
    meeting_ux = on_off_field(label=_("Meetings App telemetry"), help_text=MEETING_UX_HELP)

    class Meta:
        model = WebServiceConfiguration
        fields = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meeting_ux"].initial = self.instance.meeting_ux_enable_telemetry


def meeting_ux_stopping_changes(
    *, tenant: Tenant, identity: str, old_value: bool | None, new_value: bool | None
) -> list[str]:
    """What setting (or removing, new_value None) the configuration at `identity` stops, in words."""
    pools = meeting_ux_stopping_pools(tenant=tenant, identity=identity, new_value=new_value)
    return meeting_ux_stops(
        identity=identity, stopping_pools=[pool.fqdn for pool in pools], old_value=old_value, new_value=new_value
    )


class SiteAddForm(ViewerScopedForm):
    class Meta:
        model = Site
        fields = ["tenant", "name"]

    def clean(self):
        cleaned = super().clean()
        tenant = self.tenant_of_new_object()
        if tenant is not None and "name" in cleaned:
            self.service_check("name", services.site_name_check, tenant=tenant, name=cleaned["name"])
        return cleaned


class PoolAddForm(ViewerScopedForm):
    class Meta:
        model = Pool
        fields = ["tenant", "fqdn", "site"]
        labels = {"fqdn": _("Pool FQDN")}

    def clean(self):
        cleaned = super().clean()
        tenant = self.tenant_of_new_object()
        if tenant is None:
            return cleaned
        if "fqdn" in cleaned:
            self.service_check("fqdn", services.pool_fqdn_check, tenant=tenant, fqdn=cleaned["fqdn"])
        if cleaned.get("site") is not None:
            self.service_check("site", services.pool_site_check, tenant=tenant, site=cleaned["site"])
        return cleaned


class IngestionKeyAddForm(forms.ModelForm):
    class Meta:
        model = IngestionKey
        fields = ["tenant", "label"]

"""Tenants and what they govern: topology, policies, end users, ingestion keys, portal roles, audit."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from telemetry.names import SLUG_MAX_LENGTH
from telemetry.policy import COMMAND_ACTOR_PREFIX, TenantPolicy, audit_sentence
from telemetry.pseudonymize import PSEUDONYM_LENGTH, mask_pseudonym
from telemetry.records import RETENTION_BOUNDS, RETENTION_DEFAULT_DAYS
from telemetry.vocabulary import AuditAction, ScopeKind, scope_identity
from tenants.scoping import Role, visible_tenant_ids


class TenantScopedQuerySet(models.QuerySet):
    """The one boundary of tenant scoping (see tenants/scoping.py).

    `visible_to(user)` is what a portal user may see; `all_tenants()` is the explicit, greppable way
    to cross tenants (support staff, ingestion by key, commands).
    """

    tenant_path = "tenant"

    def visible_to(self, user):
        ids = visible_tenant_ids(user)
        if ids is None:
            return self.all()
        return self.filter(**{f"{self.tenant_path}__in": ids})

    def all_tenants(self):
        return self.all()


def is_tenant_scoped(model) -> bool:
    """Whether a model's rows belong to tenants (its manager is a TenantScopedQuerySet's)."""
    return issubclass(model._default_manager._queryset_class, TenantScopedQuerySet)


class TenantQuerySet(TenantScopedQuerySet):
    tenant_path = "pk"


class Tenant(models.Model):
    slug = models.SlugField(verbose_name=_("slug"), max_length=SLUG_MAX_LENGTH, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=200)
    domain = models.CharField(
        verbose_name=_("domain"), max_length=253, help_text=_("The organization's primary domain, e.g. contoso.com.")
    )
    # Client policy (Set-CsClientPolicy): True stops usage data and error reporting for everyone.
    disable_automatic_send_tracing = models.BooleanField(
        verbose_name=_("disable automatic send tracing"), default=False
    )
    # Windows Error Reporting (Watson): governs Windows crash uploads from the Meetings App.
    watson_enabled = models.BooleanField(verbose_name=_("watson enabled"), default=True)
    # Retention (lifecycle.md): how many days a record is kept after its day; Skype for Business
    # Server's KeepCallDetailForDays / KeepErrorReportForDays bounds.
    usage_retention_days = models.PositiveSmallIntegerField(
        verbose_name=_("usage retention days"), default=RETENTION_DEFAULT_DAYS
    )
    error_report_retention_days = models.PositiveSmallIntegerField(
        verbose_name=_("error report retention days"), default=RETENTION_DEFAULT_DAYS
    )
    # Whether an end user's opt-out through their client erases their stored error reports at once.
    erase_error_reports_on_opt_out = models.BooleanField(verbose_name=_("erase error reports on opt out"), default=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_retention_days__range=RETENTION_BOUNDS)
                & Q(error_report_retention_days__range=RETENTION_BOUNDS),
                name="tenant_retention_within_bounds",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def usage_collection_enabled(self) -> bool:
        return not self.disable_automatic_send_tracing

    @property
    def policy(self) -> TenantPolicy:
        return TenantPolicy(
            disable_automatic_send_tracing=self.disable_automatic_send_tracing,
            watson_enabled=self.watson_enabled,
        )


class Site(models.Model):
    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(verbose_name=_("name"), max_length=100)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["name"]
        # Case-insensitively: "Site:OSLO" must name one site, never choose between "Oslo" and "oslo".
        constraints = [models.UniqueConstraint("tenant", Lower("name"), name="site_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Pool(models.Model):
    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="pools")
    fqdn = models.CharField(
        verbose_name=_("FQDN"),
        max_length=253,
        help_text=_("The pool's fully qualified domain name, stored lower-case."),
    )
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, null=True, blank=True, related_name="pools"
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("pool")
        verbose_name_plural = _("pools")
        ordering = ["fqdn"]
        constraints = [models.UniqueConstraint(fields=["tenant", "fqdn"], name="pool_fqdn_unique_per_tenant")]

    def __str__(self) -> str:
        return self.fqdn


class WebServiceConfiguration(models.Model):
    """Set-CsWebServiceConfiguration at one scope: Global, Site:<name> or Service:WebServer:<fqdn>."""

    Scope = ScopeKind

    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="web_service_configurations"
    )
    scope = models.CharField(verbose_name=_("scope"), max_length=10, choices=ScopeKind.choices)
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    pool = models.ForeignKey(
        Pool, verbose_name=_("pool"), on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    meeting_ux_enable_telemetry = models.BooleanField(verbose_name=_("meeting UX enable telemetry"), default=False)
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = _("Meetings App settings")
        # What a tenant admin calls these rows; "web service configuration" is the cmdlet's noun.
        verbose_name = _("Meetings App setting")
        ordering = ["scope", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope=ScopeKind.GLOBAL, site__isnull=True, pool__isnull=True)
                    | Q(scope=ScopeKind.SITE, site__isnull=False, pool__isnull=True)
                    | Q(scope=ScopeKind.SERVICE, site__isnull=True, pool__isnull=False)
                ),
                name="web_service_configuration_scope_matches_target",
            ),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(scope=ScopeKind.GLOBAL), name="one_global_configuration_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["site"], condition=Q(scope=ScopeKind.SITE), name="one_configuration_per_site"
            ),
            models.UniqueConstraint(
                fields=["pool"], condition=Q(scope=ScopeKind.SERVICE), name="one_configuration_per_pool"
            ),
        ]

    def __str__(self) -> str:
        return self.identity

    @property
    def identity(self) -> str:
        return scope_identity(
            self.scope,
            site_name=self.site.name if self.site_id else None,
            pool_fqdn=self.pool.fqdn if self.pool_id else None,
        )


class EndUser(models.Model):
    """A user of the service, known only by the keyed hash of their user ID, and their own opt-in."""

    tenant = models.ForeignKey(Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="end_users")
    user_hash = models.CharField(verbose_name=_("user hash"), max_length=PSEUDONYM_LENGTH)
    error_reporting_opted_in = models.BooleanField(verbose_name=_("error reporting opted in"), default=False)
    opt_in_changed_at = models.DateTimeField(verbose_name=_("opt in changed at"), null=True, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("end user")
        verbose_name_plural = _("end users")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user_hash"], name="end_user_unique_per_tenant")]
        # The directory lists a tenant's users newest first without sorting millions of rows.
        indexes = [models.Index(fields=["tenant", "-id"], name="end_user_tenant_newest")]

    def __str__(self) -> str:
        return gettext("user %(pseudonym)s") % {"pseudonym": mask_pseudonym(self.user_hash)}


class IngestionKey(models.Model):
    """A bearer key of telemetry clients. Only its SHA-256 is stored; the prefix identifies it to people."""

    PREFIX_LENGTH = 8

    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="ingestion_keys"
    )
    prefix = models.CharField(verbose_name=_("prefix"), max_length=16, unique=True)
    key_hash = models.CharField(verbose_name=_("key hash"), max_length=64, unique=True)
    label = models.CharField(verbose_name=_("label"), max_length=100, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True)
    created_by = models.CharField(verbose_name=_("created by"), max_length=150, blank=True)
    revoked_at = models.DateTimeField(verbose_name=_("revoked at"), null=True, blank=True)
    # The UTC day the key last authenticated a request: a day, not a moment, so that it is written at
    # most once per key per day, never once per request.
    last_used_on = models.DateField(verbose_name=_("last used on"), null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("ingestion key")
        verbose_name_plural = _("ingestion keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PortalRole(models.Model):
    """What a sign-in of the web UI may do: administer one tenant, or support every tenant read-only."""

    Role = Role

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="portal_role"
    )
    role = models.CharField(verbose_name=_("role"), max_length=20, choices=Role.choices)
    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, null=True, blank=True, related_name="portal_roles"
    )

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("portal role")
        verbose_name_plural = _("portal roles")
        constraints = [
            models.CheckConstraint(
                condition=Q(role=Role.TENANT_ADMIN, tenant__isnull=False) | Q(role=Role.SUPPORT, tenant__isnull=True),
                name="portal_role_tenant_matches_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class AuditLogEntry(models.Model):
    """One change to a policy or the topology: who, when, what, old value, new value."""

    tenant = models.ForeignKey(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, null=True, blank=True, related_name="audit_log"
    )
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor user"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor = models.CharField(
        verbose_name=_("actor"),
        max_length=150,
        help_text=format_lazy(
            _("The portal user name, or {prefix} and the name of a management command."), prefix=COMMAND_ACTOR_PREFIX
        ),
    )
    action = models.CharField(verbose_name=_("action"), max_length=64, choices=AuditAction.choices)
    target = models.CharField(verbose_name=_("target"), max_length=300)
    field = models.CharField(verbose_name=_("field"), max_length=64, blank=True)
    # The setting's values with their types (a boolean stays a boolean); null where there is none.
    old_value = models.JSONField(verbose_name=_("old value"), null=True, blank=True)
    new_value = models.JSONField(verbose_name=_("new value"), null=True, blank=True)
    created_at = models.DateTimeField(verbose_name=_("created at"), auto_now_add=True, db_index=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit log entry")
        ordering = ["-created_at", "-id"]
        verbose_name_plural = _("audit log entries")
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target}"

    @property
    def summary(self) -> str:
        return audit_sentence(action=self.action, target=self.target, new_value=self.new_value)

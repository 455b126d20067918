"""Tenants and what they govern: topology, policies, end users, ingestion keys, portal roles, audit."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from telemetry.policy import GLOBAL_IDENTITY, TenantPolicy, service_identity, site_identity
from tenants.scoping import visible_tenant_ids


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


class TenantQuerySet(TenantScopedQuerySet):
    tenant_path = "pk"


class Tenant(models.Model):
    slug = models.SlugField(max_length=63, unique=True)
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, help_text="The organization's primary domain, e.g. contoso.com.")
    # Client policy (Set-CsClientPolicy): True stops usage data and error reporting for everyone.
    disable_automatic_send_tracing = models.BooleanField(default=False)
    # Windows Error Reporting (Watson): governs Windows crash uploads from the Meetings App.
    watson_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

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
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="site_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Pool(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="pools")
    fqdn = models.CharField(max_length=253, help_text="The pool's fully qualified domain name, stored lower-case.")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, null=True, blank=True, related_name="pools")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["fqdn"]
        constraints = [models.UniqueConstraint(fields=["tenant", "fqdn"], name="pool_fqdn_unique_per_tenant")]

    def __str__(self) -> str:
        return self.fqdn


class WebServiceConfiguration(models.Model):
    """Set-CsWebServiceConfiguration at one scope: Global, Site:<name> or Service:WebServer:<fqdn>."""

    class Scope(models.TextChoices):
        GLOBAL = "global", "Global"
        SITE = "site", "Site"
        SERVICE = "service", "Pool (Service:WebServer)"

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="web_service_configurations")
    scope = models.CharField(max_length=10, choices=Scope.choices)
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    meeting_ux_enable_telemetry = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["scope", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(scope="global", site__isnull=True, pool__isnull=True)
                    | Q(scope="site", site__isnull=False, pool__isnull=True)
                    | Q(scope="service", site__isnull=True, pool__isnull=False)
                ),
                name="web_service_configuration_scope_matches_target",
            ),
            models.UniqueConstraint(
                fields=["tenant"], condition=Q(scope="global"), name="one_global_configuration_per_tenant"
            ),
            models.UniqueConstraint(fields=["site"], condition=Q(scope="site"), name="one_configuration_per_site"),
            models.UniqueConstraint(fields=["pool"], condition=Q(scope="service"), name="one_configuration_per_pool"),
        ]

    def __str__(self) -> str:
        return self.identity

    @property
    def identity(self) -> str:
        if self.scope == self.Scope.SITE:
            return site_identity(self.site.name)
        if self.scope == self.Scope.SERVICE:
            return service_identity(self.pool.fqdn)
        return GLOBAL_IDENTITY


class EndUser(models.Model):
    """A user of the service, known only by the keyed hash of their user ID, and their own opt-in."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="end_users")
    user_hash = models.CharField(max_length=64)
    error_reporting_opted_in = models.BooleanField(default=False)
    opt_in_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user_hash"], name="end_user_unique_per_tenant")]
        # The directory lists a tenant's users newest first without sorting millions of rows.
        indexes = [models.Index(fields=["tenant", "-id"], name="end_user_tenant_newest")]

    def __str__(self) -> str:
        return f"user {self.user_hash[:8]}…"


class IngestionKey(models.Model):
    """A bearer key of telemetry clients. Only its SHA-256 is stored; the prefix identifies it to people."""

    PREFIX_LENGTH = 8

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="ingestion_keys")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class PortalRole(models.Model):
    """What a sign-in of the web UI may do: administer one tenant, or support every tenant read-only."""

    class Role(models.TextChoices):
        TENANT_ADMIN = "tenant_admin", "Tenant admin"
        SUPPORT = "support", "Support staff"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="portal_role")
    role = models.CharField(max_length=20, choices=Role.choices)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="portal_roles")

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(role="tenant_admin", tenant__isnull=False) | Q(role="support", tenant__isnull=True),
                name="portal_role_tenant_matches_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()})"


class AuditAction(models.TextChoices):
    CREATE_TENANT = "create_tenant", "Organization created"
    CREATE_SITE = "create_site", "Site added"
    CREATE_POOL = "create_pool", "Pool added"
    SET_CLIENT_POLICY = "set_client_policy", "Usage data collection changed"
    SET_WATSON = "set_watson", "Windows crash uploads changed"
    CREATE_WEB_SERVICE_CONFIGURATION = "create_web_service_configuration", "Meetings App setting added"
    SET_WEB_SERVICE_CONFIGURATION = "set_web_service_configuration", "Meetings App setting changed"
    REMOVE_WEB_SERVICE_CONFIGURATION = "remove_web_service_configuration", "Meetings App setting removed"
    CREATE_INGESTION_KEY = "create_ingestion_key", "Ingestion key created"
    REVOKE_INGESTION_KEY = "revoke_ingestion_key", "Ingestion key revoked"
    CREATE_PORTAL_USER = "create_portal_user", "Sign-in created"


def _turned(value: str) -> str:
    return {"True": "on", "False": "off"}.get(value, value)


class AuditLogEntry(models.Model):
    """One change to a policy or the topology: who, when, what, old value, new value."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_log")
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(max_length=150, help_text="The portal user name, or command:<name>.")
    action = models.CharField(max_length=64, choices=AuditAction.choices)
    target = models.CharField(max_length=300)
    field = models.CharField(max_length=64, blank=True)
    old_value = models.CharField(max_length=300, blank=True)
    new_value = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit log entries"
        indexes = [models.Index(fields=["tenant", "-created_at"], name="audit_tenant_created")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target}"

    @property
    def summary(self) -> str:
        """The change in plain words. DisableAutomaticSendTracing True means collection off: the
        double negative is never shown."""
        action, target = self.action, self.target
        if action == AuditAction.SET_CLIENT_POLICY:
            return f"Usage data collection turned {'off' if self.new_value == 'True' else 'on'}"
        if action == AuditAction.SET_WATSON:
            return f"Windows crash uploads turned {_turned(self.new_value)}"
        if action in (AuditAction.SET_WEB_SERVICE_CONFIGURATION, AuditAction.CREATE_WEB_SERVICE_CONFIGURATION):
            return f"Meetings App telemetry turned {_turned(self.new_value)} at {target}"
        if action == AuditAction.REMOVE_WEB_SERVICE_CONFIGURATION:
            return f"Meetings App setting at {target} removed"
        if action in AuditAction.values:
            return f"{AuditAction(action).label}: {target}"
        return f"{action}: {target}"

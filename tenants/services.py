"""Every write to tenants, topology, policies, keys and roles. Each writes its audit entry in the
same transaction as the change; each takes keyword-only arguments and an explicit actor."""

import hashlib
import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from telemetry.names import fqdn_key, is_fqdn, is_slug
from telemetry.policy import COMMAND_ACTOR_PREFIX
from telemetry.pseudonymize import SHOWN_HASH_LENGTH, pseudonym_hash, user_pseudonyms
from telemetry.records import RETENTION_BOUNDS
from telemetry.vocabulary import AuditAction, ScopeKind, parse_identity, scope_identity, service_identity, site_identity
from tenants.locks import policy_lock
from tenants.models import (
    AuditLogEntry,
    EndUser,
    IngestionKey,
    Pool,
    PortalRole,
    Site,
    Tenant,
    WebServiceConfiguration,
)


class PortalError(Exception):
    """A user's mistake: its message is one line, safe to show, and nothing was changed."""


# Error messages are constants so that tests, commands and the UI agree on them.
TENANT_EXISTS = _("A tenant with the slug {slug!r} already exists.")
TENANT_SLUG_INVALID = _("A tenant slug is lower-case letters, digits and hyphens: {slug!r} is not one.")
SITE_EXISTS = _("Tenant {tenant!r} already has a site named {name!r}.")
SITE_NAME_INVALID = _("A site name is 1 to 100 characters without ':' or surrounding spaces: {name!r} is not one.")
POOL_EXISTS = _("Tenant {tenant!r} already has a pool {fqdn!r}.")
FQDN_INVALID = _("{fqdn!r} is not a fully qualified domain name (like pool01.contoso.com).")
GLOBAL_NOT_REMOVABLE = _("The Global configuration cannot be removed; set it to False instead.")
CONFIGURATION_MISSING = _("Tenant {tenant!r} has no web service configuration at {identity}.")
KEY_NOT_FOUND = _("Tenant {tenant!r} has no active ingestion key starting with {prefix!r}.")
KEY_PREFIX_AMBIGUOUS = _("More than one active key of tenant {tenant!r} starts with {prefix!r}; give more characters.")
USERNAME_EXISTS = _("A sign-in named {username!r} already exists.")
ROLE_NEEDS_TENANT = _("A tenant admin needs --tenant; support staff must not have one.")
ROLE_INVALID = _("{role!r} is not a role: use tenant_admin or support.")
USERNAME_INVALID = _("A user name is 1 to 150 letters, digits and @.+-_ characters: {username!r} is not one.")
TENANT_MISSING = _("Tenant {slug!r} does not exist.")
TENANT_NAME_INVALID = _("A tenant name is at most 200 characters.")
SITE_MISSING = _("Tenant {tenant!r} has no site named {name!r}.")
POOL_MISSING = _("Tenant {tenant!r} has no pool {fqdn!r}.")
KEY_LABEL_INVALID = _("A key label is at most 100 characters.")


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a portal user, or a management command."""

    label: str
    user: object | None = None

    @classmethod
    def for_user(cls, user) -> "Actor":
        return cls(label=user.get_username(), user=user)

    @classmethod
    def for_command(cls, name: str) -> "Actor":
        return cls(label=f"{COMMAND_ACTOR_PREFIX}{name}")


def _audit(
    *,
    tenant: Tenant | None,
    actor: Actor,
    action: AuditAction,
    target: str,
    field: str = "",
    old: bool | str | dict | None = None,
    new: bool | str | dict | None = None,
) -> AuditLogEntry:
    """The audit entry of a change, in the caller's transaction; values keep their types."""
    return AuditLogEntry.objects.create(
        tenant=tenant,
        actor_user=actor.user,
        actor=actor.label,
        action=action,
        target=target,
        field=field,
        old_value=old,
        new_value=new,
    )


def normalize_fqdn(fqdn: str) -> str:
    """A valid FQDN in its stored form; PortalError otherwise."""
    value = fqdn_key(fqdn)
    if not is_fqdn(value):
        raise PortalError(FQDN_INVALID.format(fqdn=fqdn))
    return value


# The checks below are the services' own rules, one field each, so that forms can show a refusal on
# the field it is about (keeping the input) before anything is written; the services run them too.


def tenant_slug_check(*, slug: str) -> None:
    """PortalError unless `slug` is well-formed and no tenant has it yet."""
    if not is_slug(slug):
        raise PortalError(TENANT_SLUG_INVALID.format(slug=slug))
    if Tenant.objects.all_tenants().filter(slug=slug).exists():
        raise PortalError(TENANT_EXISTS.format(slug=slug))


def site_name_check(*, tenant: Tenant, name: str) -> None:
    """PortalError unless `name` is a well-formed site name the tenant does not use yet."""
    if not name or name != name.strip() or ":" in name or len(name) > 100:
        raise PortalError(SITE_NAME_INVALID.format(name=name))
    existing = tenant.sites.filter(name__iexact=name).first()
    if existing is not None:
        raise PortalError(SITE_EXISTS.format(tenant=tenant.slug, name=existing.name))


def pool_fqdn_check(*, tenant: Tenant, fqdn: str) -> str:
    """The normalized FQDN of a new pool of the tenant; PortalError if malformed or already there."""
    fqdn = normalize_fqdn(fqdn)
    if tenant.pools.filter(fqdn=fqdn).exists():
        raise PortalError(POOL_EXISTS.format(tenant=tenant.slug, fqdn=fqdn))
    return fqdn


def pool_site_check(*, tenant: Tenant, site: Site | None) -> None:
    """PortalError unless the site of a new pool (if any) belongs to the tenant."""
    if site is not None and site.tenant_id != tenant.pk:
        raise PortalError(SITE_MISSING.format(tenant=tenant.slug, name=site.name))


@transaction.atomic
def tenant_create(*, slug: str, name: str, domain: str, actor: Actor) -> Tenant:
    """A tenant with its Global web service configuration (MeetingUxEnableTelemetry False)."""
    tenant_slug_check(slug=slug)
    if len(name.strip()) > Tenant._meta.get_field("name").max_length:
        raise PortalError(TENANT_NAME_INVALID)
    domain = normalize_fqdn(domain)
    tenant = Tenant.objects.create(slug=slug, name=name.strip() or slug, domain=domain)
    WebServiceConfiguration.objects.create(tenant=tenant, scope=ScopeKind.GLOBAL)
    _audit(
        tenant=tenant,
        actor=actor,
        action=AuditAction.CREATE_TENANT,
        target=tenant.slug,
        new=f"{tenant.name} ({domain})",
    )
    return tenant


@transaction.atomic
def site_create(*, tenant: Tenant, name: str, actor: Actor) -> Site:
    site_name_check(tenant=tenant, name=name)
    site = Site.objects.create(tenant=tenant, name=name)
    _audit(tenant=tenant, actor=actor, action=AuditAction.CREATE_SITE, target=site_identity(name), new=name)
    return site


@transaction.atomic
def pool_create(*, tenant: Tenant, fqdn: str, site: Site | None = None, actor: Actor) -> Pool:
    fqdn = pool_fqdn_check(tenant=tenant, fqdn=fqdn)
    pool_site_check(tenant=tenant, site=site)
    pool = Pool.objects.create(tenant=tenant, fqdn=fqdn, site=site)
    _audit(
        tenant=tenant,
        actor=actor,
        action=AuditAction.CREATE_POOL,
        target=service_identity(fqdn),
        new=f"{fqdn} in site {site.name}" if site else fqdn,
    )
    return pool


@dataclass(frozen=True)
class TenantSetting:
    """An organization-wide setting kept on the tenant row, and how its changes are audited."""

    field: str  # the Tenant field
    action: AuditAction
    target: str
    name: str  # the setting as the cmdlets name it
    bounds: tuple[int, int] | None = None  # for a number of days


RETENTION_INVALID = _("{name} is a number of days from {low} to {high}: {value!r} is not one.")


# Set-CsClientPolicy -DisableAutomaticSendTracing: True stops usage data and error reporting.
CLIENT_POLICY = TenantSetting(
    field="disable_automatic_send_tracing",
    action=AuditAction.SET_CLIENT_POLICY,
    target="ClientPolicy",
    name="DisableAutomaticSendTracing",
)
# Windows Error Reporting (Watson): governs Windows crash uploads from the Meetings App.
WATSON = TenantSetting(
    field="watson_enabled", action=AuditAction.SET_WATSON, target="WindowsErrorReporting", name="WatsonEnabled"
)
# Retention (lifecycle.md), as Skype for Business Server names its own: days a record is kept after its day.
USAGE_RETENTION = TenantSetting(
    field="usage_retention_days",
    action=AuditAction.SET_RETENTION,
    target="KeepUsageRecordsForDays",
    name="KeepUsageRecordsForDays",
    bounds=RETENTION_BOUNDS,
)
ERROR_REPORT_RETENTION = TenantSetting(
    field="error_report_retention_days",
    action=AuditAction.SET_RETENTION,
    target="KeepErrorReportForDays",
    name="KeepErrorReportForDays",
    bounds=RETENTION_BOUNDS,
)
# Set-CsRetention -EraseErrorReportsOnOptOut (lifecycle.md): an opt-out erases the user's error reports.
ERASE_ON_OPT_OUT = TenantSetting(
    field="erase_error_reports_on_opt_out",
    action=AuditAction.SET_ERASE_ON_OPT_OUT,
    target="Retention",
    name="EraseErrorReportsOnOptOut",
)


def tenant_setting_check(*, setting: TenantSetting, value: bool | int) -> None:
    """PortalError unless `value` is one the setting takes (a number of days within its bounds)."""
    if setting.bounds is None:
        return
    low, high = setting.bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise PortalError(RETENTION_INVALID.format(name=setting.name, low=low, high=high, value=value))


@transaction.atomic
def tenant_setting_set(*, tenant: Tenant, setting: TenantSetting, value: bool | int, actor: Actor) -> Tenant:
    """Set one organization-wide setting; audited when it changes. The row is locked, so two admins
    changing it at once are audited in order, each with the value the other left."""
    tenant_setting_check(setting=setting, value=value)
    policy_lock(tenant_id=tenant.pk, shared=False)
    tenant = Tenant.objects.all_tenants().select_for_update().get(pk=tenant.pk)
    old = getattr(tenant, setting.field)
    if old != value:
        setattr(tenant, setting.field, value)
        tenant.save(update_fields=[setting.field])
        _audit(
            tenant=tenant,
            actor=actor,
            action=setting.action,
            target=setting.target,
            field=setting.name,
            old=old,
            new=value,
        )
    return tenant


@dataclass(frozen=True)
class Scope:
    """A parsed -Identity: Global, Site:<name> or Service:WebServer:<fqdn>, resolved in one tenant."""

    kind: str
    site: Site | None = None
    pool: Pool | None = None

    @property
    def identity(self) -> str:
        return scope_identity(
            self.kind,
            site_name=self.site.name if self.site is not None else None,
            pool_fqdn=self.pool.fqdn if self.pool is not None else None,
        )

    def lookup(self) -> dict:
        return {"scope": self.kind, "site": self.site, "pool": self.pool}


SCOPE_INVALID = _("{identity!r} is not a scope: use Global, Site:<site name> or Service:WebServer:<pool FQDN>.")


def scope_parse(*, tenant: Tenant, identity: str) -> Scope:
    """Resolve an -Identity in a tenant; PortalError when it is malformed or names nothing of the tenant."""
    parsed = parse_identity(identity)
    if parsed is None:
        raise PortalError(SCOPE_INVALID.format(identity=identity))
    kind, name = parsed
    if kind == ScopeKind.SITE:
        site = tenant.sites.filter(name__iexact=name).first()
        if site is None:
            raise PortalError(SITE_MISSING.format(tenant=tenant.slug, name=name))
        return Scope(kind=kind, site=site)
    if kind == ScopeKind.SERVICE:
        pool = tenant.pools.filter(fqdn=fqdn_key(name)).first()
        if pool is None:
            raise PortalError(POOL_MISSING.format(tenant=tenant.slug, fqdn=name))
        return Scope(kind=kind, pool=pool)
    return Scope(kind=kind)


@transaction.atomic
def web_service_configuration_set(
    *, tenant: Tenant, scope: Scope, meeting_ux_enable_telemetry: bool, actor: Actor
) -> WebServiceConfiguration:
    """Set-CsWebServiceConfiguration -Identity <scope> -MeetingUxEnableTelemetry; creates the scope if missing."""
    policy_lock(tenant_id=tenant.pk, shared=False)
    configuration = WebServiceConfiguration.objects.select_for_update().filter(tenant=tenant, **scope.lookup()).first()
    if configuration is None:
        old, action = None, AuditAction.CREATE_WEB_SERVICE_CONFIGURATION
        configuration = WebServiceConfiguration.objects.create(
            tenant=tenant, meeting_ux_enable_telemetry=meeting_ux_enable_telemetry, **scope.lookup()
        )
    elif configuration.meeting_ux_enable_telemetry != meeting_ux_enable_telemetry:
        old, action = configuration.meeting_ux_enable_telemetry, AuditAction.SET_WEB_SERVICE_CONFIGURATION
        configuration.meeting_ux_enable_telemetry = meeting_ux_enable_telemetry
        configuration.save(update_fields=["meeting_ux_enable_telemetry", "updated_at"])
    else:
        return configuration
    _audit(
        tenant=tenant,
        actor=actor,
        action=action,
        target=scope.identity,
        field="MeetingUxEnableTelemetry",
        old=old,
        new=meeting_ux_enable_telemetry,
    )
    return configuration


@transaction.atomic
def web_service_configuration_remove(*, tenant: Tenant, scope: Scope, actor: Actor) -> None:
    if scope.kind == ScopeKind.GLOBAL:
        raise PortalError(GLOBAL_NOT_REMOVABLE)
    policy_lock(tenant_id=tenant.pk, shared=False)
    configuration = WebServiceConfiguration.objects.filter(tenant=tenant, **scope.lookup()).first()
    if configuration is None:
        raise PortalError(CONFIGURATION_MISSING.format(tenant=tenant.slug, identity=scope.identity))
    old = configuration.meeting_ux_enable_telemetry
    configuration.delete()
    _audit(
        tenant=tenant,
        actor=actor,
        action=AuditAction.REMOVE_WEB_SERVICE_CONFIGURATION,
        target=scope.identity,
        field="MeetingUxEnableTelemetry",
        old=old,
    )


def _hash_ingestion_key(key: str) -> str:
    # Keys are 256 random bits, so a plain SHA-256 cannot be brute-forced; no keyed hash is needed.
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: IngestionKey
    secret: str  # shown once, never stored


@transaction.atomic
def ingestion_key_create(*, tenant: Tenant, actor: Actor, label: str = "") -> IssuedKey:
    if len(label) > IngestionKey._meta.get_field("label").max_length:
        raise PortalError(KEY_LABEL_INVALID)
    while True:
        secret = f"tpk_{secrets.token_urlsafe(32)}"
        prefix = secret[: 4 + IngestionKey.PREFIX_LENGTH]
        if not IngestionKey.objects.all_tenants().filter(prefix=prefix).exists():
            break
    key = IngestionKey.objects.create(
        tenant=tenant, prefix=prefix, key_hash=_hash_ingestion_key(secret), label=label, created_by=actor.label
    )
    _audit(tenant=tenant, actor=actor, action=AuditAction.CREATE_INGESTION_KEY, target=f"{prefix}…", new=label)
    return IssuedKey(key=key, secret=secret)


@transaction.atomic
def ingestion_key_revoke(*, tenant: Tenant, prefix: str, actor: Actor) -> IngestionKey:
    prefix = prefix.strip().rstrip("…")
    matches = list(tenant.ingestion_keys.select_for_update().filter(prefix__startswith=prefix, revoked_at=None)[:2])
    if not prefix or not matches:
        raise PortalError(KEY_NOT_FOUND.format(tenant=tenant.slug, prefix=prefix))
    if len(matches) > 1:
        raise PortalError(KEY_PREFIX_AMBIGUOUS.format(tenant=tenant.slug, prefix=prefix))
    key = matches[0]
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    _audit(
        tenant=tenant,
        actor=actor,
        action=AuditAction.REVOKE_INGESTION_KEY,
        target=f"{key.prefix}…",
        old="active",
        new="revoked",
    )
    return key


def ingestion_key_matches(*, key: IngestionKey, secret: str) -> bool:
    """Whether `secret` is the secret of `key` (only its hash is stored)."""
    return secrets.compare_digest(key.key_hash, _hash_ingestion_key(secret))


def ingestion_key_authenticate(*, secret: str) -> Tenant | None:
    """The tenant of an active key, or None for a missing, unknown or revoked one.

    Every client request asks it, so it is one raw statement: compiling the ORM query cost a worker a
    millisecond of CPU per request. The tenant is still a model instance (its fields converted by the
    ORM), and whether the key was already used today is the database's answer."""
    if not secret:
        return None
    today = timezone.now().date()
    tenant = next(
        iter(
            Tenant.objects.all_tenants().raw(
                f"SELECT t.*, k.id AS ingestion_key_id, "  # noqa: S608 - our own table names
                "(k.last_used_on IS NULL OR k.last_used_on < %s) AS ingestion_key_unused_today "
                f"FROM {IngestionKey._meta.db_table} k JOIN {Tenant._meta.db_table} t ON t.id = k.tenant_id "
                "WHERE k.key_hash = %s AND k.revoked_at IS NULL",
                [today, _hash_ingestion_key(secret)],
            )
        ),
        None,
    )
    if tenant is None:
        return None
    if tenant.ingestion_key_unused_today:
        # Conditional, so that concurrent first requests of the day write once between them and the
        # rest of the day's requests write nothing.
        IngestionKey.objects.all_tenants().filter(
            Q(last_used_on__lt=today) | Q(last_used_on=None), pk=tenant.ingestion_key_id
        ).update(last_used_on=today)
    return tenant


@transaction.atomic
def portal_user_create(*, username: str, password: str, role: str, tenant: Tenant | None, actor: Actor):
    """A sign-in of the web UI with its role. Tenant admins and support staff are staff users."""
    if role not in PortalRole.Role.values:
        raise PortalError(ROLE_INVALID.format(role=role))
    if (role == PortalRole.Role.TENANT_ADMIN) != (tenant is not None):
        raise PortalError(ROLE_NEEDS_TENANT)
    user_model = get_user_model()
    # Checked here, not left to the database: PostgreSQL would reject a long name with a DataError.
    try:
        user_model.username_validator(username)
    except ValidationError:
        raise PortalError(USERNAME_INVALID.format(username=username)) from None
    if not username or len(username) > user_model._meta.get_field("username").max_length:
        raise PortalError(USERNAME_INVALID.format(username=username))
    if user_model.objects.filter(username=username).exists():
        raise PortalError(USERNAME_EXISTS.format(username=username))
    user = user_model(username=username, is_staff=True)
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise PortalError(
            gettext("The password is too weak: %(reasons)s") % {"reasons": " ".join(error.messages)}
        ) from None
    user.set_password(password)
    try:
        user.save()
    except IntegrityError:
        raise PortalError(USERNAME_EXISTS.format(username=username)) from None
    PortalRole.objects.create(user=user, role=role, tenant=tenant)
    _audit(tenant=tenant, actor=actor, action=AuditAction.CREATE_PORTAL_USER, target=username, new=role)
    return user


@transaction.atomic
def end_user_set_error_reporting(*, tenant: Tenant, user_id: str, opted_in: bool) -> EndUser:
    """The end user's own opt-in, as their client sends it. Creates the user on first use.

    Only the keyed hash of the user ID is stored. A row made under a previous hash key is found and
    re-keyed to the current one. Serialized with the tenant's batches (tenants/locks.py): a batch in
    flight is decided under the opt-in it read. Not audited: it is the user's choice, not a policy.
    """
    policy_lock(tenant_id=tenant.pk, shared=False)
    pseudonyms = user_pseudonyms(user_id, tenant_id=tenant.pk)
    end_user = EndUser.objects.select_for_update().filter(tenant=tenant, user_hash__in=pseudonyms).first()
    if end_user is None:
        end_user = EndUser.objects.create(tenant=tenant, user_hash=pseudonyms[0])
    fields = []
    if end_user.user_hash != pseudonyms[0]:
        end_user.user_hash = pseudonyms[0]
        fields.append("user_hash")
    if end_user.error_reporting_opted_in != opted_in or end_user.opt_in_changed_at is None:
        end_user.error_reporting_opted_in = opted_in
        end_user.opt_in_changed_at = timezone.now()
        fields += ["error_reporting_opted_in", "opt_in_changed_at"]
    if fields:
        # Not save(): its UPDATE names only the id, which Citus sends to every shard of end users; with
        # the tenant it goes to the tenant's shard alone (README, "Scaling out: Citus").
        changed = {field: getattr(end_user, field) for field in fields}
        EndUser.objects.filter(tenant=tenant, pk=end_user.pk).update(**changed)
    return end_user


def end_user_delete(*, tenant: Tenant, pseudonyms: list[str]) -> int:
    """Remove a user's opt-in row (an erasure, in the caller's transaction); how many rows went."""
    deleted, _ = EndUser.objects.filter(tenant=tenant, user_hash__in=pseudonyms).delete()
    return deleted


CLIENT_ACTOR = Actor(label="client")


def erasure_receipt_write(*, tenant: Tenant, actor: Actor, pseudonym: str, removed: dict[str, int]) -> AuditLogEntry:
    """The receipt of an erasure, in the caller's transaction: who, when, the first characters of the
    pseudonym's hash (never the typed ID, never the whole pseudonym) and how many rows of each table."""
    return _audit(
        tenant=tenant,
        actor=actor,
        action=AuditAction.ERASE_END_USER,
        target=f"user {pseudonym_hash(pseudonym)[:SHOWN_HASH_LENGTH]}",
        new=removed,
    )


def records_export_audit(
    *, tenant: Tenant | None, actor: Actor, records: str, filters: dict[str, str]
) -> AuditLogEntry:
    """The audit entry of an export of stored records (pseudonyms masked, networks truncated): who,
    when, which records and with which filters. `tenant` is the one tenant the export is limited to,
    or None when it may hold several. `filters` must name no person: the caller masks them."""
    return _audit(tenant=tenant, actor=actor, action=AuditAction.EXPORT_RECORDS, target=records, new=filters)

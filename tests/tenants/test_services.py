"""The write services: their effects, the audit row in the same transaction, keys stored only hashed."""

import hashlib

import pytest
from django.db import connection

from telemetry.pseudonymize import hash_user_id
from tenants import services
from tenants.models import AuditLogEntry, EndUser, IngestionKey, Site, Tenant, WebServiceConfiguration
from tests.conftest import COMMAND_ACTOR, PASSWORD


def every_value_in_the_database() -> str:
    """The text of every row of every table, to prove a secret is stored nowhere."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from introspection)
            values.extend(str(row) for row in cursor.fetchall())
    return "\n".join(values)


def audit_count() -> int:
    return AuditLogEntry.objects.all_tenants().count()


def test_tenant_create_writes_global_configuration_and_audit(db):
    tenant = services.tenant_create(slug="contoso", name=" Contoso ", domain="CONTOSO.com.", actor=COMMAND_ACTOR)
    assert (tenant.name, tenant.domain) == ("Contoso", "contoso.com")
    assert list(tenant.web_service_configurations.values_list("scope", "meeting_ux_enable_telemetry")) == [
        ("global", False)
    ]
    assert (tenant.disable_automatic_send_tracing, tenant.watson_enabled) == (False, True)
    entry = tenant.audit_log.get()
    assert (entry.actor, entry.actor_user, entry.action, entry.target) == (
        "command:tests",
        None,
        "create_tenant",
        "contoso",
    )


def test_audit_row_and_change_share_one_transaction(contoso, monkeypatch):
    """If writing the audit row fails, the change it records is rolled back with it."""

    def broken_audit(**kwargs):
        raise RuntimeError("audit storage failed")

    monkeypatch.setattr(services, "_audit", broken_audit)
    before = (Site.objects.all_tenants().count(), audit_count())
    with pytest.raises(RuntimeError):
        services.site_create(tenant=contoso, name="Redmond", actor=COMMAND_ACTOR)
    with pytest.raises(RuntimeError):
        services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    assert (Site.objects.all_tenants().count(), audit_count()) == before
    contoso.refresh_from_db()
    assert contoso.disable_automatic_send_tracing is False


def test_a_failing_change_leaves_no_audit_row(contoso_pool):
    before = audit_count()
    with pytest.raises(services.PortalError):
        services.pool_create(tenant=contoso_pool.tenant, fqdn="pool01.contoso.com", actor=COMMAND_ACTOR)
    with pytest.raises(services.PortalError):
        services.web_service_configuration_remove(
            tenant=contoso_pool.tenant, scope=services.Scope(kind="global"), actor=COMMAND_ACTOR
        )
    assert audit_count() == before


def test_a_portal_users_change_is_audited_with_the_user(contoso, hamlet):
    actor = services.Actor.for_user(hamlet)
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=actor)
    entry = AuditLogEntry.objects.all_tenants().order_by("-id").first()
    assert (entry.actor_user, entry.actor, entry.old_value, entry.new_value) == (hamlet, "hamlet", False, True)


def test_an_unchanged_value_writes_no_audit_row(contoso):
    before = audit_count()
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=False, actor=COMMAND_ACTOR)
    services.tenant_setting_set(tenant=contoso, setting=services.WATSON, value=True, actor=COMMAND_ACTOR)
    services.web_service_configuration_set(
        tenant=contoso, scope=services.Scope(kind="global"), meeting_ux_enable_telemetry=False, actor=COMMAND_ACTOR
    )
    assert audit_count() == before


def test_watson_set_records_old_and_new(contoso):
    services.tenant_setting_set(tenant=contoso, setting=services.WATSON, value=False, actor=COMMAND_ACTOR)
    contoso.refresh_from_db()
    assert contoso.watson_enabled is False
    entry = contoso.audit_log.order_by("-id").first()
    assert (entry.action, entry.field, entry.old_value, entry.new_value) == (
        "set_watson",
        "WatsonEnabled",
        True,
        False,
    )


def test_web_service_configuration_set_creates_then_updates_the_scope(contoso_pool):
    contoso = contoso_pool.tenant
    scope = services.scope_parse(tenant=contoso, identity="Site:Redmond")
    created = services.web_service_configuration_set(
        tenant=contoso, scope=scope, meeting_ux_enable_telemetry=True, actor=COMMAND_ACTOR
    )
    updated = services.web_service_configuration_set(
        tenant=contoso, scope=scope, meeting_ux_enable_telemetry=False, actor=COMMAND_ACTOR
    )
    assert created.pk == updated.pk
    assert WebServiceConfiguration.objects.get(pk=created.pk).meeting_ux_enable_telemetry is False
    entries = list(
        contoso.audit_log.filter(field="MeetingUxEnableTelemetry")
        .order_by("id")
        .values_list("action", "old_value", "new_value")
    )
    assert entries == [
        ("create_web_service_configuration", None, True),
        ("set_web_service_configuration", True, False),
    ]


def test_tenant_name_and_key_label_lengths_are_checked_before_the_database(db, contoso):
    with pytest.raises(services.PortalError, match="at most 200"):
        services.tenant_create(slug="northwind", name="n" * 201, domain="northwind.com", actor=COMMAND_ACTOR)
    with pytest.raises(services.PortalError, match="at most 100"):
        services.ingestion_key_create(tenant=contoso, label="l" * 101, actor=COMMAND_ACTOR)
    assert not Tenant.objects.all_tenants().filter(slug="northwind").exists()
    assert not contoso.ingestion_keys.exists()


# --- ingestion keys -------------------------------------------------------------------------------


def test_ingestion_key_is_stored_only_as_its_sha256(contoso):
    issued = services.ingestion_key_create(tenant=contoso, label="desk", actor=COMMAND_ACTOR)
    key = IngestionKey.objects.all_tenants().get(pk=issued.key.pk)
    assert key.key_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert issued.secret.startswith(key.prefix)
    assert len(key.prefix) == 4 + IngestionKey.PREFIX_LENGTH
    assert issued.secret not in every_value_in_the_database()
    assert key.prefix in every_value_in_the_database()  # the probe does see the rows


def test_ingestion_key_authenticate(contoso, fabrikam, contoso_key, fabrikam_key):
    assert services.ingestion_key_authenticate(secret=contoso_key) == contoso
    assert services.ingestion_key_authenticate(secret=fabrikam_key) == fabrikam
    assert services.ingestion_key_authenticate(secret=contoso_key + "x") is None
    assert services.ingestion_key_authenticate(secret="") is None


def test_revoked_key_no_longer_authenticates_and_others_still_do(contoso, fabrikam, contoso_key, fabrikam_key):
    second = services.ingestion_key_create(tenant=contoso, actor=COMMAND_ACTOR).secret
    revoked = services.ingestion_key_revoke(tenant=contoso, prefix=contoso_key[:12] + "…", actor=COMMAND_ACTOR)
    assert revoked.revoked_at is not None
    assert services.ingestion_key_authenticate(secret=contoso_key) is None
    assert services.ingestion_key_authenticate(secret=second) == contoso
    assert services.ingestion_key_authenticate(secret=fabrikam_key) == fabrikam


def test_a_tenant_cannot_revoke_another_tenants_key(contoso, fabrikam_key):
    prefix = fabrikam_key[:12]
    with pytest.raises(services.PortalError) as failure:
        services.ingestion_key_revoke(tenant=contoso, prefix=prefix, actor=COMMAND_ACTOR)
    assert str(failure.value) == services.KEY_NOT_FOUND.format(tenant="contoso", prefix=prefix)
    assert IngestionKey.objects.all_tenants().get(prefix=prefix).revoked_at is None


@pytest.mark.parametrize("prefix", ["", "  ", "…"])
def test_an_empty_prefix_revokes_nothing(contoso, contoso_key, prefix):
    with pytest.raises(services.PortalError):
        services.ingestion_key_revoke(tenant=contoso, prefix=prefix, actor=COMMAND_ACTOR)
    assert services.ingestion_key_authenticate(secret=contoso_key) == contoso


# --- the scope parser -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identity", "kind", "expected_identity"),
    [
        ("Global", "global", "Global"),
        (" global ", "global", "Global"),
        ("Site:Redmond", "site", "Site:Redmond"),
        ("site:Redmond", "site", "Site:Redmond"),
        ("Service:WebServer:pool01.contoso.com", "service", "Service:WebServer:pool01.contoso.com"),
        ("service:webserver:POOL01.Contoso.com.", "service", "Service:WebServer:pool01.contoso.com"),
    ],
)
def test_scope_parse_resolves_scopes_in_the_tenant(contoso_pool, identity, kind, expected_identity):
    scope = services.scope_parse(tenant=contoso_pool.tenant, identity=identity)
    assert (scope.kind, scope.identity) == (kind, expected_identity)
    if kind == "service":
        assert scope.pool == contoso_pool
    if kind == "site":
        assert scope.site == contoso_pool.site


@pytest.mark.parametrize(
    ("identity", "message"),
    [
        ("Site:Paris", services.SITE_MISSING.format(tenant="contoso", name="Paris")),
        # "Site:redmond" names Redmond: site names are unique and found ignoring case (test_small_defects.py).
        (
            "Service:WebServer:pool01.fabrikam.com",
            services.POOL_MISSING.format(tenant="contoso", fqdn="pool01.fabrikam.com"),
        ),
        ("Site:", services.SCOPE_INVALID.format(identity="Site:")),
        ("", services.SCOPE_INVALID.format(identity="")),
        (
            "Service:Registrar:pool01.contoso.com",
            services.SCOPE_INVALID.format(identity="Service:Registrar:pool01.contoso.com"),
        ),
        ("Service:WebServer:", services.SCOPE_INVALID.format(identity="Service:WebServer:")),
        ("Redmond", services.SCOPE_INVALID.format(identity="Redmond")),
    ],
)
def test_scope_parse_rejects_what_the_tenant_does_not_have(contoso_pool, fabrikam_pool, identity, message):
    with pytest.raises(services.PortalError) as failure:
        services.scope_parse(tenant=contoso_pool.tenant, identity=identity)
    assert str(failure.value) == message


# --- portal users and end users -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "role", "with_tenant", "message"),
    [
        ("ophelia", "tenant_admin", False, services.ROLE_NEEDS_TENANT),
        ("ophelia", "support", True, services.ROLE_NEEDS_TENANT),
        ("ophelia", "owner", True, services.ROLE_INVALID.format(role="owner")),
        ("ophelia", "owner", False, services.ROLE_INVALID.format(role="owner")),
        ("", "support", False, services.USERNAME_INVALID.format(username="")),
        ("o" * 151, "support", False, services.USERNAME_INVALID.format(username="o" * 151)),
        ("hamlet", "support", False, services.USERNAME_EXISTS.format(username="hamlet")),
    ],
)
def test_portal_user_create_rejects_bad_input(contoso, hamlet, username, role, with_tenant, message):
    before = (services.PortalRole.objects.all_tenants().count(), audit_count())
    with pytest.raises(services.PortalError) as failure:
        services.portal_user_create(
            username=username,
            password=PASSWORD,
            role=role,
            tenant=contoso if with_tenant else None,
            actor=COMMAND_ACTOR,
        )
    assert str(failure.value) == message
    assert (services.PortalRole.objects.all_tenants().count(), audit_count()) == before


def test_portal_user_create_rejects_a_weak_password(db):
    with pytest.raises(services.PortalError, match=r"^The password is too weak: "):
        services.portal_user_create(
            username="ophelia", password="ophelia123", role="support", tenant=None, actor=COMMAND_ACTOR
        )


def test_end_user_opt_in_stores_only_the_keyed_hash(contoso, fabrikam):
    user_id = "Amos.Marble@contoso.com"
    end_user = services.end_user_set_error_reporting(tenant=contoso, user_id=user_id, opted_in=True)
    assert end_user.user_hash == hash_user_id(user_id, tenant_id=contoso.pk)
    assert end_user.opt_in_changed_at is not None
    again = services.end_user_set_error_reporting(tenant=contoso, user_id=" amos.marble@CONTOSO.com", opted_in=False)
    assert again.pk == end_user.pk
    assert EndUser.objects.all_tenants().get(pk=end_user.pk).error_reporting_opted_in is False
    # The same person in another tenant is another directory entry.
    services.end_user_set_error_reporting(tenant=fabrikam, user_id=user_id, opted_in=True)
    assert EndUser.objects.all_tenants().count() == 2
    stored = every_value_in_the_database().casefold()
    assert "amos.marble" not in stored

"""The management commands (commands.md): each one's effect, its audit entry, and its bad input as one
line that changes nothing."""

import io
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from tenants import services
from tenants.management.base import BOOLEAN_INVALID, DATABASE_UNREACHABLE, format_list, parse_bool
from tenants.management.commands.create_portal_user import PASSWORD_MISSING
from tenants.models import (
    AuditLogEntry,
    IngestionKey,
    Pool,
    PortalRole,
    Site,
    Tenant,
    WebServiceConfiguration,
)
from tests.conftest import COMMAND_ACTOR, PASSWORD


def run(name: str, *args: str) -> str:
    out = io.StringIO()
    call_command(name, *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot() -> dict:
    """Everything a command could change, to prove that a failed one changed nothing."""
    return {
        "tenants": sorted(
            Tenant.objects.all_tenants().values_list("slug", "name", "domain", "disable_automatic_send_tracing")
        ),
        "sites": sorted(Site.objects.all_tenants().values_list("tenant__slug", "name")),
        "pools": sorted(Pool.objects.all_tenants().values_list("tenant__slug", "fqdn", "site_id")),
        "configurations": sorted(
            WebServiceConfiguration.objects.all_tenants().values_list(
                "tenant_id", "scope", "site_id", "pool_id", "meeting_ux_enable_telemetry"
            )
        ),
        "keys": sorted(IngestionKey.objects.all_tenants().values_list("prefix", "revoked_at")),
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
        "roles": PortalRole.objects.all_tenants().count(),
        "audit": AuditLogEntry.objects.all_tenants().count(),
    }


def assert_fails(message: str, name: str, *args: str) -> None:
    before = snapshot()
    with pytest.raises(CommandError) as failure:
        run(name, *args)
    assert str(failure.value) == message
    assert "\n" not in str(failure.value)
    assert snapshot() == before


def last_audit() -> AuditLogEntry:
    return AuditLogEntry.objects.all_tenants().order_by("-id").first()


# --- the boolean parser and the list format ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("$True", True),
        ("$TRUE", True),
        (" false ", False),
        ("False", False),
        ("$false", False),
        ("$False", False),
        (True, True),
        (False, False),
    ],
)
def test_parse_bool_accepts_true_false_and_powershell_spelling(text, expected):
    assert parse_bool(text, option="--x") is expected


@pytest.mark.parametrize("text", ["yes", "1", "0", "", "$", "truee", "on", "$Null"])
def test_parse_bool_rejects_anything_else_with_one_line(text):
    with pytest.raises(services.PortalError) as failure:
        parse_bool(text, option="--x")
    assert str(failure.value) == BOOLEAN_INVALID.format(value=text, option="--x")


def test_format_list_pads_names_like_powershell():
    text = format_list([{"Identity": "Global", "MeetingUxEnableTelemetry": False}, {"Identity": "Site:A", "X": 1}])
    assert text == (
        "Identity                 : Global\nMeetingUxEnableTelemetry : False\n\nIdentity : Site:A\nX        : 1"
    )


# --- create_tenant --------------------------------------------------------------------------------


def test_create_tenant_creates_global_configuration_and_prints_a_working_key_last(db):
    output = run("create_tenant", "contoso", "--name", "Contoso Ltd", "--domain", "Contoso.COM")
    tenant = Tenant.objects.all_tenants().get(slug="contoso")
    assert (tenant.name, tenant.domain) == ("Contoso Ltd", "contoso.com")
    global_configuration = tenant.web_service_configurations.get()
    assert global_configuration.scope == WebServiceConfiguration.Scope.GLOBAL
    assert global_configuration.meeting_ux_enable_telemetry is False
    secret = output.strip().splitlines()[-1]
    assert services.ingestion_key_authenticate(secret=secret) == tenant
    entries = list(tenant.audit_log.order_by("id").values_list("actor", "action", "new_value"))
    assert entries[0] == ("command:create_tenant", "create_tenant", "Contoso Ltd (contoso.com)")
    assert entries[1][:2] == ("command:create_tenant", "create_ingestion_key")


def test_create_tenant_rejects_a_duplicate_slug(contoso):
    assert_fails(
        services.TENANT_EXISTS.format(slug="contoso"), "create_tenant", "contoso", "--name=X", "--domain=x.com"
    )


@pytest.mark.parametrize(
    ("slug", "domain", "message"),
    [
        ("Contoso", "contoso.com", services.TENANT_SLUG_INVALID.format(slug="Contoso")),
        ("con_toso", "contoso.com", services.TENANT_SLUG_INVALID.format(slug="con_toso")),
        ("contoso", "contoso", services.FQDN_INVALID.format(fqdn="contoso")),
        ("contoso", "-contoso.com", services.FQDN_INVALID.format(fqdn="-contoso.com")),
    ],
)
def test_create_tenant_rejects_bad_slug_or_domain(db, slug, domain, message):
    assert_fails(message, "create_tenant", slug, "--name=Contoso", f"--domain={domain}")


def test_create_tenant_rejects_an_overlong_name(db):
    assert_fails(services.TENANT_NAME_INVALID, "create_tenant", "contoso", "--name=" + "x" * 201, "--domain=c.com")


def test_a_missing_argument_is_one_line_and_changes_nothing(db):
    assert_fails("Error: the following arguments are required: --domain", "create_tenant", "contoso", "--name=C")


# --- ingestion keys -------------------------------------------------------------------------------


def test_create_ingestion_key_prints_a_key_of_that_tenant(contoso, fabrikam):
    output = run("create_ingestion_key", "contoso", "--label", "branch office")
    secret = output.strip().splitlines()[-1]
    assert services.ingestion_key_authenticate(secret=secret) == contoso
    key = contoso.ingestion_keys.get(label="branch office")
    assert secret.startswith(key.prefix)
    entry = last_audit()
    assert (entry.tenant, entry.actor, entry.action, entry.target, entry.new_value) == (
        contoso,
        "command:create_ingestion_key",
        "create_ingestion_key",
        f"{key.prefix}…",
        "branch office",
    )


def test_create_ingestion_key_rejects_an_unknown_tenant_and_a_long_label(contoso):
    assert_fails(services.TENANT_MISSING.format(slug="northwind"), "create_ingestion_key", "northwind")
    assert_fails(services.KEY_LABEL_INVALID, "create_ingestion_key", "contoso", "--label", "x" * 101)


def test_revoke_ingestion_key_stops_it_authenticating(contoso, contoso_key):
    prefix = contoso_key[:12]
    run("revoke_ingestion_key", "contoso", prefix)
    assert services.ingestion_key_authenticate(secret=contoso_key) is None
    entry = last_audit()
    assert (entry.actor, entry.action, entry.old_value, entry.new_value) == (
        "command:revoke_ingestion_key",
        "revoke_ingestion_key",
        "active",
        "revoked",
    )
    # Revoked is not active: a second revocation finds nothing.
    assert_fails(
        services.KEY_NOT_FOUND.format(tenant="contoso", prefix=prefix), "revoke_ingestion_key", "contoso", prefix
    )


def test_revoke_ingestion_key_rejects_unknown_foreign_and_ambiguous_prefixes(contoso, contoso_key, fabrikam_key):
    services.ingestion_key_create(tenant=contoso, actor=COMMAND_ACTOR)
    message = services.KEY_NOT_FOUND.format(tenant="contoso", prefix="tpk_nothing")
    assert_fails(message, "revoke_ingestion_key", "contoso", "tpk_nothing")
    # Another tenant's key does not exist for this tenant.
    foreign = fabrikam_key[:12]
    assert_fails(
        services.KEY_NOT_FOUND.format(tenant="contoso", prefix=foreign), "revoke_ingestion_key", "contoso", foreign
    )
    assert_fails(
        services.KEY_PREFIX_AMBIGUOUS.format(tenant="contoso", prefix="tpk_"), "revoke_ingestion_key", "contoso", "tpk_"
    )
    assert services.ingestion_key_authenticate(secret=contoso_key) == contoso


# --- sites and pools ------------------------------------------------------------------------------


def test_create_site(contoso):
    run("create_site", "contoso", "Redmond")
    assert list(contoso.sites.values_list("name", flat=True)) == ["Redmond"]
    entry = last_audit()
    assert (entry.actor, entry.action, entry.target, entry.new_value) == (
        "command:create_site",
        "create_site",
        "Site:Redmond",
        "Redmond",
    )


def test_create_site_rejects_duplicates_bad_names_and_unknown_tenants(contoso_site, fabrikam):
    assert_fails(services.SITE_EXISTS.format(tenant="contoso", name="Redmond"), "create_site", "contoso", "Redmond")
    assert_fails(services.SITE_NAME_INVALID.format(name="Site:X"), "create_site", "contoso", "Site:X")
    assert_fails(services.SITE_NAME_INVALID.format(name=" Paris"), "create_site", "contoso", " Paris")
    assert_fails(services.TENANT_MISSING.format(slug="northwind"), "create_site", "northwind", "Paris")
    # The same name in another tenant is another site.
    run("create_site", "fabrikam", "Redmond")
    assert fabrikam.sites.filter(name="Redmond").exists()


def test_create_pool_in_a_site_and_without_one(contoso_site):
    run("create_pool", "contoso", "POOL01.Contoso.com.", "--site", "Redmond")
    run("create_pool", "contoso", "pool02.contoso.com")
    pools = dict(Pool.objects.filter(tenant=contoso_site.tenant).values_list("fqdn", "site__name"))
    assert pools == {"pool01.contoso.com": "Redmond", "pool02.contoso.com": None}
    entry = last_audit()
    assert (entry.actor, entry.action, entry.target) == (
        "command:create_pool",
        "create_pool",
        "Service:WebServer:pool02.contoso.com",
    )


def test_create_pool_rejects_duplicates_bad_fqdns_and_unknown_sites(contoso_pool, fabrikam):
    services.site_create(tenant=fabrikam, name="Paris", actor=COMMAND_ACTOR)
    duplicate = services.POOL_EXISTS.format(tenant="contoso", fqdn="pool01.contoso.com")
    assert_fails(duplicate, "create_pool", "contoso", "Pool01.contoso.com")
    assert_fails(services.FQDN_INVALID.format(fqdn="pool 01"), "create_pool", "contoso", "pool 01")
    assert_fails(services.FQDN_INVALID.format(fqdn="localhost"), "create_pool", "contoso", "localhost")
    missing_site = services.SITE_MISSING.format(tenant="contoso", name="Paris")
    assert_fails(missing_site, "create_pool", "contoso", "pool02.contoso.com", "--site", "Paris")
    assert_fails(services.TENANT_MISSING.format(slug="northwind"), "create_pool", "northwind", "pool01.northwind.com")


# --- web service configurations -------------------------------------------------------------------


def test_set_cs_web_service_configuration_updates_global_and_creates_scopes(contoso_pool):
    contoso = contoso_pool.tenant
    run("set_cs_web_service_configuration", "contoso", "--meeting-ux-enable-telemetry", "$True")
    assert contoso.web_service_configurations.get(scope="global").meeting_ux_enable_telemetry is True
    entry = last_audit()
    assert (entry.actor, entry.action, entry.target, entry.field, entry.old_value, entry.new_value) == (
        "command:set_cs_web_service_configuration",
        "set_web_service_configuration",
        "Global",
        "MeetingUxEnableTelemetry",
        False,
        True,
    )
    run(
        "set_cs_web_service_configuration",
        "contoso",
        "--identity",
        "Service:WebServer:pool01.contoso.com",
        "--meeting-ux-enable-telemetry",
        "FALSE",
    )
    created = contoso.web_service_configurations.get(scope="service")
    assert (created.pool, created.meeting_ux_enable_telemetry) == (contoso_pool, False)
    entry = last_audit()
    assert (entry.action, entry.target, entry.old_value, entry.new_value) == (
        "create_web_service_configuration",
        "Service:WebServer:pool01.contoso.com",
        None,
        False,
    )


def test_setting_the_same_value_again_writes_no_audit_entry(contoso):
    before = AuditLogEntry.objects.all_tenants().count()
    run("set_cs_web_service_configuration", "contoso", "--meeting-ux-enable-telemetry", "false")
    assert AuditLogEntry.objects.all_tenants().count() == before


@pytest.mark.parametrize(
    ("identity", "value", "message"),
    [
        ("Global", "yes", BOOLEAN_INVALID.format(value="yes", option="--meeting-ux-enable-telemetry")),
        ("Global", "", BOOLEAN_INVALID.format(value="", option="--meeting-ux-enable-telemetry")),
        ("Site:Paris", "true", services.SITE_MISSING.format(tenant="contoso", name="Paris")),
        (
            "Service:WebServer:pool01.fabrikam.com",
            "true",
            services.POOL_MISSING.format(tenant="contoso", fqdn="pool01.fabrikam.com"),
        ),
        ("Pool:pool01.contoso.com", "true", services.SCOPE_INVALID.format(identity="Pool:pool01.contoso.com")),
        ("Site:", "true", services.SCOPE_INVALID.format(identity="Site:")),
    ],
)
def test_set_cs_web_service_configuration_rejects_bad_input(contoso_pool, fabrikam_pool, identity, value, message):
    assert_fails(
        message,
        "set_cs_web_service_configuration",
        "contoso",
        "--identity",
        identity,
        "--meeting-ux-enable-telemetry",
        value,
    )


def test_set_cs_web_service_configuration_rejects_an_unknown_tenant(db):
    assert_fails(
        services.TENANT_MISSING.format(slug="northwind"),
        "set_cs_web_service_configuration",
        "northwind",
        "--meeting-ux-enable-telemetry=true",
    )


def test_get_cs_web_service_configuration_lists_global_then_sites_then_services(contoso_pool, fabrikam):
    contoso = contoso_pool.tenant
    services.site_create(tenant=contoso, name="Amsterdam", actor=COMMAND_ACTOR)
    for identity, value in [
        ("Service:WebServer:pool01.contoso.com", True),
        ("Site:Redmond", False),
        ("Site:Amsterdam", True),
    ]:
        scope = services.scope_parse(tenant=contoso, identity=identity)
        services.web_service_configuration_set(
            tenant=contoso, scope=scope, meeting_ux_enable_telemetry=value, actor=COMMAND_ACTOR
        )
    services.web_service_configuration_set(
        tenant=fabrikam, scope=services.Scope(kind="global"), meeting_ux_enable_telemetry=True, actor=COMMAND_ACTOR
    )
    before = snapshot()
    assert run("get_cs_web_service_configuration", "contoso") == (
        "Identity                 : Global\n"
        "MeetingUxEnableTelemetry : False\n"
        "\n"
        "Identity                 : Site:Amsterdam\n"
        "MeetingUxEnableTelemetry : True\n"
        "\n"
        "Identity                 : Site:Redmond\n"
        "MeetingUxEnableTelemetry : False\n"
        "\n"
        "Identity                 : Service:WebServer:pool01.contoso.com\n"
        "MeetingUxEnableTelemetry : True\n"
    )
    assert run("get_cs_web_service_configuration", "fabrikam", "--identity", "global") == (
        "Identity                 : Global\nMeetingUxEnableTelemetry : True\n"
    )
    assert snapshot() == before


def test_get_cs_web_service_configuration_rejects_missing_and_unknown_scopes(contoso_pool):
    missing = services.CONFIGURATION_MISSING.format(tenant="contoso", identity="Site:Redmond")
    assert_fails(missing, "get_cs_web_service_configuration", "contoso", "--identity", "Site:Redmond")
    unknown = services.SITE_MISSING.format(tenant="contoso", name="Paris")
    assert_fails(unknown, "get_cs_web_service_configuration", "contoso", "--identity", "Site:Paris")
    assert_fails(services.TENANT_MISSING.format(slug="northwind"), "get_cs_web_service_configuration", "northwind")


def test_remove_cs_web_service_configuration(contoso_site):
    contoso = contoso_site.tenant
    scope = services.scope_parse(tenant=contoso, identity="Site:Redmond")
    services.web_service_configuration_set(
        tenant=contoso, scope=scope, meeting_ux_enable_telemetry=True, actor=COMMAND_ACTOR
    )
    run("remove_cs_web_service_configuration", "contoso", "--identity", "Site:Redmond")
    assert not contoso.web_service_configurations.filter(scope="site").exists()
    entry = last_audit()
    assert (entry.actor, entry.action, entry.target, entry.old_value, entry.new_value) == (
        "command:remove_cs_web_service_configuration",
        "remove_web_service_configuration",
        "Site:Redmond",
        True,
        None,
    )


def test_remove_cs_web_service_configuration_rejects_global_missing_and_unknown(contoso_pool):
    for identity in ("Global", "GLOBAL"):
        assert_fails(
            services.GLOBAL_NOT_REMOVABLE, "remove_cs_web_service_configuration", "contoso", f"--identity={identity}"
        )
    missing = services.CONFIGURATION_MISSING.format(tenant="contoso", identity="Service:WebServer:pool01.contoso.com")
    assert_fails(
        missing, "remove_cs_web_service_configuration", "contoso", "--identity=Service:WebServer:pool01.contoso.com"
    )
    unknown = services.POOL_MISSING.format(tenant="contoso", fqdn="pool09.contoso.com")
    assert_fails(
        unknown, "remove_cs_web_service_configuration", "contoso", "--identity=Service:WebServer:pool09.contoso.com"
    )
    assert_fails(
        "Error: the following arguments are required: --identity", "remove_cs_web_service_configuration", "contoso"
    )


# --- client policy --------------------------------------------------------------------------------


def test_set_and_get_cs_client_policy(contoso, fabrikam):
    assert run("get_cs_client_policy", "contoso") == (
        "Identity                    : Global\n"
        "DisableAutomaticSendTracing : False\n"
        "WindowsCrashUploads         : True\n"
    )
    run("set_cs_client_policy", "contoso", "--disable-automatic-send-tracing", "$True")
    contoso.refresh_from_db()
    fabrikam.refresh_from_db()
    assert (contoso.disable_automatic_send_tracing, fabrikam.disable_automatic_send_tracing) == (True, False)
    entry = last_audit()
    assert (entry.tenant, entry.actor, entry.field, entry.old_value, entry.new_value) == (
        contoso,
        "command:set_cs_client_policy",
        "DisableAutomaticSendTracing",
        False,
        True,
    )
    assert run("get_cs_client_policy", "contoso") == (
        "Identity                    : Global\nDisableAutomaticSendTracing : True\nWindowsCrashUploads         : True\n"
    )


def test_set_cs_client_policy_rejects_bad_input(contoso):
    option = "--disable-automatic-send-tracing"
    assert_fails(BOOLEAN_INVALID.format(value="off", option=option), "set_cs_client_policy", "contoso", option, "off")
    assert_fails(services.TENANT_MISSING.format(slug="northwind"), "set_cs_client_policy", "northwind", option, "true")
    assert_fails(services.TENANT_MISSING.format(slug="northwind"), "get_cs_client_policy", "northwind")


# --- portal users ---------------------------------------------------------------------------------


def test_create_portal_user_tenant_admin_with_password_from_the_environment(contoso, monkeypatch):
    monkeypatch.setenv("PORTAL_PASSWORD", PASSWORD)
    run("create_portal_user", "hamlet", "--role", "tenant_admin", "--tenant", "contoso")
    user = get_user_model().objects.get(username="hamlet")
    assert user.is_staff
    assert not user.is_superuser
    assert (user.portal_role.role, user.portal_role.tenant) == ("tenant_admin", contoso)
    assert user.check_password(PASSWORD)
    entry = last_audit()
    assert (entry.tenant, entry.actor, entry.action, entry.target, entry.new_value) == (
        contoso,
        "command:create_portal_user",
        "create_portal_user",
        "hamlet",
        "tenant_admin",
    )


def test_create_portal_user_support_with_password_option(db, monkeypatch):
    monkeypatch.delenv("PORTAL_PASSWORD", raising=False)
    run("create_portal_user", "iago", "--role", "support", "--password", PASSWORD)
    role = PortalRole.objects.all_tenants().get(user__username="iago")
    assert (role.role, role.tenant) == ("support", None)
    assert role.user.check_password(PASSWORD)


def test_create_portal_user_rejects_bad_input(contoso, hamlet, monkeypatch):
    monkeypatch.delenv("PORTAL_PASSWORD", raising=False)
    command = "create_portal_user"
    assert_fails(PASSWORD_MISSING, command, "ophelia", "--role=support")
    password = f"--password={PASSWORD}"
    assert_fails(services.USERNAME_EXISTS.format(username="hamlet"), command, "hamlet", "--role=support", password)
    assert_fails(services.ROLE_NEEDS_TENANT, command, "ophelia", "--role=tenant_admin", password)
    assert_fails(services.ROLE_NEEDS_TENANT, command, "ophelia", "--role=support", "--tenant=contoso", password)
    assert_fails(
        services.ROLE_INVALID.format(role="admin"), command, "ophelia", "--role=admin", "--tenant=contoso", password
    )
    assert_fails(
        services.TENANT_MISSING.format(slug="northwind"),
        command,
        "ophelia",
        "--role=tenant_admin",
        "--tenant=northwind",
        password,
    )
    assert_fails(services.USERNAME_INVALID.format(username="o phelia"), command, "o phelia", "--role=support", password)
    weak = (
        "The password is too weak: This password is too short. It must contain at least 10 characters. "
        "This password is too common. This password is entirely numeric."
    )
    assert_fails(weak, command, "ophelia", "--role=support", "--password=123456")


# --- from a real shell ----------------------------------------------------------------------------


def test_shell_success_exits_zero_and_prints_the_key_last(shell):
    result = shell("create_tenant", "contoso", "--name", "Contoso", "--domain", "contoso.com")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.splitlines()[-1].startswith("tpk_")


@pytest.mark.parametrize(
    ("args", "code", "line"),
    [
        (
            ["create_tenant", "contoso", "--name", "Contoso", "--domain", "contoso.com"],
            1,
            "CommandError: A tenant with the slug 'contoso' already exists.",
        ),
        (
            ["set_cs_client_policy", "contoso", "--disable-automatic-send-tracing", "maybe"],
            1,
            "CommandError: " + BOOLEAN_INVALID.format(value="maybe", option="--disable-automatic-send-tracing"),
        ),
        (["create_site", "northwind", "Paris"], 1, "CommandError: Tenant 'northwind' does not exist."),
        (["create_site"], 2, "manage.py create_site: error: the following arguments are required: tenant, name"),
        (
            ["remove_cs_web_service_configuration", "contoso", "--identity", "Global"],
            1,
            "CommandError: " + services.GLOBAL_NOT_REMOVABLE,
        ),
    ],
)
def test_shell_errors_are_one_line_without_traceback_and_change_nothing(shell, args, code, line):
    shell("create_tenant", "contoso", "--name", "Contoso", "--domain", "contoso.com")
    before = (
        shell("get_cs_client_policy", "contoso").stdout + shell("get_cs_web_service_configuration", "contoso").stdout
    )
    result = shell(*args)
    assert result.returncode == code
    assert result.stderr.splitlines() == [line]
    assert "Traceback" not in result.stdout + result.stderr
    after = (
        shell("get_cs_client_policy", "contoso").stdout + shell("get_cs_web_service_configuration", "contoso").stdout
    )
    assert after == before


def closed_port() -> int:
    """A local TCP port nothing listens on: bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "database_url",
    [
        pytest.param(lambda tmp: f"postgres://postgres@127.0.0.1:{closed_port()}/portal", id="postgres-closed-port"),
        pytest.param(lambda tmp: f"sqlite:///{tmp / 'no-such-directory' / 'portal.sqlite3'}", id="sqlite-no-file"),
    ],
)
@pytest.mark.parametrize(
    "args",
    [
        ["get_cs_client_policy", "contoso"],
        ["create_tenant", "contoso", "--name", "Contoso", "--domain", "contoso.com"],
    ],
)
def test_an_unreachable_database_is_one_line_without_traceback(tmp_path, database_url, args):
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(tmp_path),
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "shell-test-secret-key",
        "TELEMETRY_HASH_KEY": "shell-test-hash-key",
        "DJANGO_SECURE_SSL": "false",
    }
    result = subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), *args],
        check=False,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "CommandError: " + DATABASE_UNREACHABLE.format(error="OperationalError"),
    ]
    assert result.stdout == ""

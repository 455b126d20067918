"""Watson through the commands and the explainer get_cs_effective_policy (commands.md)."""

import pytest

from telemetry.policy import MeetingUxSetting, TenantPolicy, effective_policy
from tenants import services
from tenants.management.base import BOOLEAN_INVALID
from tenants.management.commands.set_cs_client_policy import NOTHING_TO_SET
from tests.conftest import COMMAND_ACTOR
from tests.tenants.test_commands import assert_fails, last_audit, run


def test_set_cs_client_policy_sets_watson_and_get_prints_it(contoso, fabrikam):
    out = run("set_cs_client_policy", "contoso", "--windows-crash-uploads", "$False")
    assert "Windows crash uploads from the Meetings App are Off for contoso" in out
    contoso.refresh_from_db()
    fabrikam.refresh_from_db()
    assert (contoso.watson_enabled, fabrikam.watson_enabled) == (False, True)
    entry = last_audit()
    assert (entry.actor, entry.action, entry.field, entry.old_value, entry.new_value) == (
        "command:set_cs_client_policy",
        "set_watson",
        "WatsonEnabled",
        True,
        False,
    )
    assert run("get_cs_client_policy", "contoso").splitlines()[-1] == "WindowsCrashUploads         : False"


def test_set_cs_client_policy_sets_both_at_once(contoso):
    run(
        "set_cs_client_policy",
        "contoso",
        "--disable-automatic-send-tracing",
        "true",
        "--windows-crash-uploads",
        "false",
    )
    contoso.refresh_from_db()
    assert (contoso.disable_automatic_send_tracing, contoso.watson_enabled) == (True, False)


def test_set_cs_client_policy_needs_one_of_the_two_and_well_formed_values(contoso):
    assert_fails(NOTHING_TO_SET, "set_cs_client_policy", "contoso")
    # A malformed second value changes nothing, not even the first.
    assert_fails(
        BOOLEAN_INVALID.format(value="maybe", option="--windows-crash-uploads"),
        "set_cs_client_policy",
        "contoso",
        "--disable-automatic-send-tracing",
        "true",
        "--windows-crash-uploads",
        "maybe",
    )
    contoso.refresh_from_db()
    assert contoso.disable_automatic_send_tracing is False


def blocks(output: str) -> dict[str, dict[str, str]]:
    """The printed list, each block by its Category (the header block under "header")."""
    found = {}
    for block in output.strip().split("\n\n"):
        fields = dict(line.split(" : ", 1) for line in block.splitlines())
        fields = {name.strip(): value for name, value in fields.items()}
        found[fields.get("Category", "header")] = fields
    return found


def test_the_explainer_without_pool_or_user(contoso):
    out = blocks(run("get_cs_effective_policy", "contoso"))
    assert out["header"] == {"Tenant": "contoso", "Pool": "none (Global)", "User": "none given"}
    assert out["Census"]["Collected"] == "Collected"
    assert out["Usage"] == {
        "Category": "Usage",
        "Collected": "Collected",
        "Rule": "DisableAutomaticSendTracing is False",
        "DecidedBy": "Global (client policy of the organization)",
    }
    assert out["Error reporting"]["Collected"] == "Collected for users who opted in"
    assert out["Meetings App"]["Collected"] == "Not collected"
    assert out["Meetings App"]["DecidedBy"] == "Global"
    assert out["Windows crash uploads"]["Collected"] == "Collected"


def test_the_explainer_for_a_pool_and_an_opted_in_user_from_the_environment(contoso_pool, monkeypatch):
    tenant = contoso_pool.tenant
    services.web_service_configuration_set(
        tenant=tenant,
        scope=services.scope_parse(tenant=tenant, identity="Site:Redmond"),
        meeting_ux_enable_telemetry=True,
        actor=COMMAND_ACTOR,
    )
    services.end_user_set_error_reporting(tenant=tenant, user_id="amosmarble", opted_in=True)
    monkeypatch.setenv("END_USER_ID", "AmosMarble")
    output = run("get_cs_effective_policy", "contoso", "--pool", "POOL01.contoso.com")
    assert "amosmarble" not in output.lower()
    out = blocks(output)
    assert out["header"]["Pool"] == "pool01.contoso.com"
    assert out["header"]["User"] == "opted in to error reporting"
    assert out["Error reporting"]["Collected"] == "Collected"
    assert out["Meetings App"] == {
        "Category": "Meetings App",
        "Collected": "Collected",
        "Rule": "MeetingUxEnableTelemetry True at Site:Redmond",
        "DecidedBy": "Site:Redmond",
    }


def test_the_explainer_while_usage_collection_is_off(contoso):
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    out = blocks(run("get_cs_effective_policy", "contoso", "--user", "nobody"))
    assert out["header"]["User"] == "unknown to the portal (has not opted in)"
    assert out["Usage"]["Collected"] == "Not collected"
    assert out["Error reporting"]["Collected"] == "Not collected"
    assert out["Error reporting"]["Rule"].startswith("DisableAutomaticSendTracing is True")
    # The Meetings App and Windows crash uploads follow their own settings.
    assert out["Windows crash uploads"]["Collected"] == "Collected"


def test_the_explainer_rejects_an_unknown_pool_and_tenant(contoso, fabrikam_pool):
    assert_fails(
        services.POOL_MISSING.format(tenant="contoso", fqdn="pool01.fabrikam.com"),
        "get_cs_effective_policy",
        "contoso",
        "--pool",
        "pool01.fabrikam.com",
    )
    assert_fails(services.TENANT_MISSING.format(slug="northwind"), "get_cs_effective_policy", "northwind")


@pytest.mark.parametrize(
    ("disabled", "opted_in", "collected"),
    [(False, True, True), (False, False, False), (True, True, False), (False, None, None)],
)
def test_effective_policy_error_reporting(disabled, opted_in, collected):
    lines = effective_policy(
        tenant_policy=TenantPolicy(disable_automatic_send_tracing=disabled),
        meeting_ux=MeetingUxSetting(enabled=False, identity="default"),
        user_opted_in=opted_in,
    )
    assert {line.category: line.collected for line in lines}["Error reporting"] is collected

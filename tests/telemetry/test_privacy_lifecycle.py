"""Privacy all the way through: free text, per-tenant pseudonyms and their rotation, erasure with its
receipt, the opt-out that erases, the client API that keeps user IDs out of URLs."""

import datetime as dt
import json
import re

import pytest
from django.core.management import call_command
from django.db import connection

from telemetry.models import ErrorReport, IngestionCount, ScrubbedDailyCount, UsageDailySum
from telemetry.pseudonymize import hash_user_id, pseudonym_hash, user_pseudonyms
from telemetry.services import end_user_erase
from tenants import services
from tenants.models import AuditLogEntry, EndUser
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import post_batch
from tests.telemetry.factories import error, usage


def _days_ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)).isoformat()


USER_ID = "Amos.Marble-7731"
SIP_URI = "sip:amos.marble.7731@contoso.com"
EMAIL = "amos.marble.7731@contoso.com"
IPV4 = "203.0.113.77"
IPV6 = "2001:db8:1234:5678::4242"
QUOTING_LOG = (
    f"user {USER_ID} ({USER_ID.upper()}, ｆｕｌｌ {USER_ID.casefold()}) called {SIP_URI} / {SIP_URI.upper()}, "
    f"mailed {EMAIL}, from {IPV4} and {IPV6} and ::ffff:{IPV4} and 2002:cb00:714d::1"
)
SECRETS = [USER_ID, SIP_URI.removeprefix("sip:"), EMAIL, IPV4, IPV6, "203.0.113.77"]


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def opt_in(client, key, user_id=USER_ID, opted_in=True):
    return client.put(
        "/api/v1/error-reporting",
        json.dumps({"user": user_id, "opted_in": opted_in}),
        content_type="application/json",
        **bearer(key),
    )


def quoting_report(**fields):
    return error(
        user_id=USER_ID,
        sip_uri=SIP_URI,
        ip_address=IPV4,
        error_log=QUOTING_LOG,
        conversation_thread_id=f"thread of {USER_ID} at {IPV4}",
        conversation_state=f"idle {EMAIL}",
        error_code=f"E_{IPV4}",
        **fields,
    )


def every_stored_text():
    texts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            texts.extend(str(value) for row in cursor.fetchall() for value in row if value is not None)
    return texts


# --- free text --------------------------------------------------------------------------------------


def test_free_text_quoting_identifiers_is_stored_scrubbed_and_the_scrubs_counted(
    client, contoso, contoso_pool, contoso_key
):
    opt_in(client, contoso_key)

    response = post_batch(client, contoso_key, [quoting_report()])

    assert response.json()["accepted"] == 1
    report = ErrorReport.objects.get()
    for text in (report.error_log, report.conversation_thread_id, report.conversation_state, report.error_code):
        assert "[" in text  # a marker stands where an identifier was
    for text in every_stored_text():
        for secret in SECRETS:
            assert secret.casefold() not in text.casefold(), (secret, text[:120])
    replaced = ScrubbedDailyCount.objects.get(tenant=contoso).replaced
    assert replaced >= 12
    client.force_login(
        services.portal_user_create(
            username="hamlet2",
            password="correct-horse-battery-staple",
            role="tenant_admin",
            tenant=contoso,
            actor=COMMAND_ACTOR,
        )
    )
    counts = client.get("/portal/api/counts").json()  # the last 30 days hold the factory's day
    assert counts["scrubbed"] == replaced
    page = client.get("/portal/dashboard/").content.decode()
    assert re.search(rf'id="scrubbed".*<strong>{replaced}</strong>', page)


@pytest.mark.parametrize(
    "partner", ["amos@fabrikam.com", "sip:amos@fabrikam.com", "203.0.113.7", "fabrikam", "İ" * 200 + ".com"]
)
def test_a_federation_partner_that_is_not_a_domain_name_is_rejected(
    client, contoso, contoso_pool, contoso_key, partner
):
    body = post_batch(client, contoso_key, [usage(federation_partner=partner), usage()]).json()

    assert [result["status"] for result in body["results"]] == ["rejected", "accepted"]
    assert body["results"][0]["reason"].startswith("federation_partner: must be an organization's domain name")
    assert partner not in json.dumps(body)


def test_a_domain_name_partner_is_stored_lower_case(client, contoso, contoso_pool, contoso_key):
    assert post_batch(client, contoso_key, [usage(federation_partner="Fabrikam.COM")]).json()["accepted"] == 1
    assert contoso_pool.pk in UsageDailySum.objects.values_list("pool_id", flat=True)


@pytest.mark.postgres
def test_text_that_grows_when_normalized_is_stored_within_its_column(client, contoso, contoso_pool, contoso_key):
    """NFKC turns one U+FDFA into 18 characters: the bound holds after normalization, never a 503."""
    opt_in(client, contoso_key)
    grows = "\ufdfa" * 64
    batch = [error(user_id=USER_ID, conversation_state=grows, error_code=grows * 2, error_log=grows * 500), usage()]

    response = post_batch(client, contoso_key, batch)

    assert response.status_code == 200
    assert response.json()["accepted"] == 2
    report = ErrorReport.objects.get()
    assert len(report.conversation_state) == 64
    assert len(report.error_code) == 128


# --- pseudonyms per tenant, and their rotation -------------------------------------------------------


def test_the_same_user_in_two_tenants_gets_unrelated_pseudonyms(
    client, contoso, contoso_pool, contoso_key, fabrikam, fabrikam_pool, fabrikam_key
):
    for key, pool in ((contoso_key, contoso_pool), (fabrikam_key, fabrikam_pool)):
        opt_in(client, key)
        assert post_batch(client, key, [error(user_id=USER_ID, pool=pool.fqdn)]).json()["accepted"] == 1

    here, there = (ErrorReport.objects.get(tenant=tenant) for tenant in (contoso, fabrikam))
    assert here.user_hash != there.user_hash
    assert pseudonym_hash(here.user_hash)[:8] != pseudonym_hash(there.user_hash)[:8]
    assert set(EndUser.objects.values_list("user_hash", flat=True)) == {here.user_hash, there.user_hash}


def test_a_rotated_key_keeps_old_records_and_opt_ins_and_signs_new_ones_with_its_id(
    client, contoso, contoso_pool, contoso_key, settings
):
    opt_in(client, contoso_key)
    assert post_batch(client, contoso_key, [error(user_id=USER_ID)]).json()["accepted"] == 1
    old_key = settings.TELEMETRY_HASH_KEY
    old = ErrorReport.objects.get().user_hash

    settings.TELEMETRY_PREVIOUS_HASH_KEYS = [old_key]
    settings.TELEMETRY_HASH_KEY = "the-new-hash-key-after-rotation"

    # The opt-in made under the old key still counts; the new report carries the new key's id.
    assert post_batch(client, contoso_key, [error(user_id=USER_ID)]).json()["accepted"] == 1
    new = ErrorReport.objects.exclude(user_hash=old).get().user_hash
    assert new.split(":")[0] != old.split(":")[0]
    assert user_pseudonyms(USER_ID, tenant_id=contoso.pk) == [new, old]
    # Old records stay readable: looking the user up finds both.
    assert ErrorReport.objects.filter(user_hash__in=user_pseudonyms(USER_ID, tenant_id=contoso.pk)).count() == 2
    # The next opt-in change re-keys the user's row to the new key.
    opt_in(client, contoso_key)
    assert EndUser.objects.get(tenant=contoso).user_hash == new


# --- erasure --------------------------------------------------------------------------------------


@pytest.fixture
def two_users_in_two_tenants(client, contoso, contoso_pool, contoso_key, fabrikam, fabrikam_pool, fabrikam_key):
    for key, pool in ((contoso_key, contoso_pool), (fabrikam_key, fabrikam_pool)):
        for user_id in (USER_ID, "bea"):
            opt_in(client, key, user_id)
            post_batch(client, key, [error(user_id=user_id, pool=pool.fqdn) for _ in range(3)])
    assert ErrorReport.objects.count() == 12


def test_an_erasure_removes_exactly_that_users_reports_in_that_tenant_and_leaves_a_receipt(
    contoso, fabrikam, two_users_in_two_tenants, caplog
):
    ledger_before = list(IngestionCount.objects.values_list("records", flat=True))

    erasure = end_user_erase(
        tenant=contoso, pseudonyms=user_pseudonyms(USER_ID, tenant_id=contoso.pk), actor=COMMAND_ACTOR
    )

    assert erasure.removed == {"error_reports": 3, "end_users": 1}
    mine = user_pseudonyms(USER_ID, tenant_id=contoso.pk)
    assert not ErrorReport.objects.filter(tenant=contoso, user_hash__in=mine).exists()
    assert ErrorReport.objects.filter(tenant=contoso).count() == 3  # bea's
    assert ErrorReport.objects.filter(tenant=fabrikam).count() == 6  # the same user ID elsewhere is untouched
    assert list(IngestionCount.objects.values_list("records", flat=True)) == ledger_before
    receipt = AuditLogEntry.objects.get(action="erase_end_user")
    assert receipt.tenant == contoso
    assert receipt.target == f"user {pseudonym_hash(mine[0])[:8]}"
    assert receipt.new_value == {"error_reports": 3, "end_users": 1}
    assert "3 error reports and 1 opt-in" in receipt.summary
    assert USER_ID.casefold() not in json.dumps([receipt.target, receipt.new_value, receipt.summary]).casefold()
    assert pseudonym_hash(mine[0]) not in receipt.target  # the first characters only


@pytest.mark.parametrize(("erase_on_opt_out", "left"), [(True, 0), (False, 3)])
def test_an_opt_out_erases_the_users_reports_when_the_tenant_says_so(
    client, contoso, contoso_key, two_users_in_two_tenants, erase_on_opt_out, left
):
    services.tenant_setting_set(
        tenant=contoso, setting=services.ERASE_ON_OPT_OUT, value=erase_on_opt_out, actor=COMMAND_ACTOR
    )
    assert opt_in(client, contoso_key, opted_in=False).json() == {"user": USER_ID, "opted_in": False}

    mine = user_pseudonyms(USER_ID, tenant_id=contoso.pk)
    assert ErrorReport.objects.filter(tenant=contoso, user_hash__in=mine).count() == left
    receipts = AuditLogEntry.objects.filter(action="erase_end_user", actor="client")
    assert receipts.count() == (1 if erase_on_opt_out else 0)
    # Opting out again erases nothing more and writes no second receipt.
    opt_in(client, contoso_key, opted_in=False)
    assert AuditLogEntry.objects.filter(action="erase_end_user").count() == receipts.count()


def test_erase_end_user_prints_the_receipt_and_takes_the_id_from_the_environment(
    contoso, two_users_in_two_tenants, capsys, monkeypatch
):
    monkeypatch.setenv("END_USER_ID", USER_ID)
    call_command("erase_end_user", "contoso")

    out = capsys.readouterr().out
    assert re.fullmatch(
        r"Erased user [0-9a-f]{8} of contoso: 3 error reports and 1 opt-in\. Receipt #\d+ in the audit log, .+ UTC\.\n",
        out,
    )
    assert USER_ID.casefold() not in out.casefold()
    assert AuditLogEntry.objects.get(action="erase_end_user").actor == "command:erase_end_user"


@pytest.fixture(scope="module")
def shell_contoso(shell):
    created = shell("create_tenant", "contoso", "--name", "Contoso", "--domain", "contoso.com")
    assert created.returncode == 0, created.stderr
    return shell


RETENTION_UNCHANGED = "KeepUsageRecordsForDays   : 60\nKeepErrorReportForDays    : 60\nEraseErrorReportsOnOptOut : True"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["erase_end_user", "northwind", "--user", "x"], "CommandError: Tenant 'northwind' does not exist."),
        (
            ["erase_end_user", "contoso"],
            "CommandError: Give the user ID with --user or in the END_USER_ID environment variable.",
        ),
        (["erase_end_user", "contoso", "--user", "  "], "CommandError: A user ID is 1 to 128 characters."),
        (
            ["set_cs_retention", "contoso", "--usage-days", "0"],
            "CommandError: KeepUsageRecordsForDays is a number of days from 1 to 2562: 0 is not one.",
        ),
        (
            ["set_cs_retention", "contoso", "--error-report-days", "ten"],
            "CommandError: --error-report-days takes a whole number of days: 'ten' is not one.",
        ),
        (
            ["set_cs_retention", "contoso", "--usage-days", "30", "--erase-on-opt-out", "maybe"],
            "CommandError: 'maybe' is not a boolean for --erase-on-opt-out: use true or false "
            "(or '$True' / '$False', quoted).",
        ),
        (
            ["set_cs_retention", "contoso"],
            "CommandError: Give at least one of --usage-days, --error-report-days, --erase-on-opt-out.",
        ),
        (
            ["set_cs_retention", "contoso", "--usage-days", "30"],
            # The same words and numbers as the portal's confirmation: the days kept until now and no longer.
            f"CommandError: Usage records kept for 30 days instead of 60: no usage records dated {_days_ago(60)} "
            f"to {_days_ago(31)} are stored, so none is deleted now. Add --force to go on.",
        ),
    ],
)
def test_retention_and_erasure_commands_refuse_bad_input_in_one_line(shell_contoso, args, line):
    result = shell_contoso(*args)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [line]
    assert RETENTION_UNCHANGED in shell_contoso("get_cs_retention", "contoso").stdout
    assert "erase_end_user" not in shell_contoso("maintain_telemetry").stderr


def test_set_and_get_cs_retention(contoso, capsys):
    call_command("set_cs_retention", "contoso", "--usage-days", "90", "--erase-on-opt-out", "$False")
    call_command("set_cs_retention", "contoso", "--error-report-days", "30", "--force")
    capsys.readouterr()

    call_command("get_cs_retention", "contoso")

    assert capsys.readouterr().out == (
        "Identity                  : contoso\n"
        "KeepUsageRecordsForDays   : 90\n"
        "KeepErrorReportForDays    : 30\n"
        "EraseErrorReportsOnOptOut : False\n"
    )
    summaries = [entry.summary for entry in contoso.audit_log.order_by("id")][-3:]
    assert summaries == [
        "Usage records kept for 90 days",
        "Erasing a user's error reports when they opt out turned off",
        "Error reports kept for 30 days",
    ]


# --- user IDs never travel in a URL -------------------------------------------------------------------


def test_the_policy_and_the_opt_in_take_the_user_in_the_body(client, contoso, contoso_pool, contoso_key):
    assert opt_in(client, contoso_key).status_code == 200

    answer = client.post(
        "/api/v1/policy",
        json.dumps({"user": USER_ID, "pool": "pool01.contoso.com"}),
        content_type="application/json",
        **bearer(contoso_key),
    )

    assert answer.status_code == 200
    assert answer.json()["error_reporting"] is True
    assert "Deprecation" not in answer
    assert "Deprecation" not in client.get("/api/v1/policy", {"pool": "pool01.contoso.com"}, **bearer(contoso_key))
    assert EndUser.objects.get().user_hash == hash_user_id(USER_ID, tenant_id=contoso.pk)


def test_the_forms_with_a_user_id_in_the_url_are_deprecated(client, contoso, contoso_key):
    old_put = client.put(
        f"/api/v1/users/{USER_ID}/error-reporting",
        json.dumps({"opted_in": True}),
        content_type="application/json",
        **bearer(contoso_key),
    )
    old_get = client.get("/api/v1/policy", {"user": USER_ID}, **bearer(contoso_key))

    for response in (old_put, old_get):
        assert response.status_code == 200
        assert re.fullmatch(r"@\d+", response["Deprecation"])  # RFC 9745: a Structured Field Date
        assert 'rel="successor-version"' in response["Link"]
    document = client.get("/api/v1/openapi.json").json()
    assert document["paths"]["/api/v1/users/{user_id}/error-reporting"]["put"]["deprecated"] is True
    (user_parameter,) = [p for p in document["paths"]["/api/v1/policy"]["get"]["parameters"] if p["name"] == "user"]
    assert user_parameter["deprecated"] is True
    assert "deprecated" not in document["paths"]["/api/v1/error-reporting"]["put"]


@pytest.mark.parametrize(
    "body",
    [
        {"user": "", "opted_in": True},
        {"user": "x" * 129, "opted_in": True},
        {"user": USER_ID, "opted_in": "yes"},
        {"opted_in": True},
    ],
)
def test_a_malformed_opt_in_body_is_a_problem_that_changes_nothing(client, contoso, contoso_key, body):
    response = client.put(
        "/api/v1/error-reporting", json.dumps(body), content_type="application/json", **bearer(contoso_key)
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert not EndUser.objects.exists()
    assert USER_ID not in response.content.decode()

"""seed_demo: a realistic demo on an empty database, through the real services and ingestion."""

import io
import re
from datetime import time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from telemetry.management.commands.seed_demo import NOT_EMPTY
from telemetry.models import CensusRecord, ErrorReport, IngestionCount, UsageDailySum, UsageRecord
from tenants.models import AuditLogEntry, EndUser, PortalRole, Tenant
from tenants.selectors import end_user_find
from tests.conftest import PASSWORD


def _seed(*arguments: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *arguments, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_fills_an_empty_database_through_the_real_code_paths():
    output = _seed("--days", "3", "--password", PASSWORD)

    assert set(Tenant.objects.all_tenants().values_list("slug", flat=True)) == {"contoso", "fabrikam", "tailspin"}
    contoso = Tenant.objects.get(slug="contoso")
    assert contoso.usage_collection_enabled  # turned off, then on again
    assert contoso.pools.count() == 3
    assert contoso.web_service_configurations.count() == 2  # Global and Site:Dublin
    opted = EndUser.objects.filter(tenant=contoso).values_list("error_reporting_opted_in", flat=True)
    assert True in opted
    assert False in opted
    # The sample user ID it prints is one of contoso's users: looking it up finds them.
    sample = re.search(r"by their user ID: (\S+)", output).group(1)
    assert end_user_find(tenant=contoso, user_id=sample) is not None

    # Telemetry went through ingestion: records stored, drops and duplicates counted, sums kept.
    assert CensusRecord.objects.exists()
    assert UsageRecord.objects.filter(tenant=contoso).exists()
    assert ErrorReport.objects.filter(tenant=contoso).exists()
    ledger = IngestionCount.objects.filter(tenant=contoso)
    assert ledger.filter(outcome="dropped", reason="user_not_opted_in").exists()
    assert ledger.filter(outcome="dropped", reason="meeting_ux_telemetry_disabled").exists()
    assert UsageDailySum.objects.filter(tenant=contoso).aggregate(total=Sum("records"))["total"] == (
        UsageRecord.objects.filter(tenant=contoso).count()
    )

    # The policy change: off at noon of one simulated day, on at noon of a later one, in the audit
    # log (backdated to the simulated day), and usage sent in between was dropped.
    changes = list(AuditLogEntry.objects.filter(tenant=contoso, action="set_client_policy").order_by("created_at"))
    assert [entry.new_value for entry in changes] == [True, False]
    assert all(entry.actor == "command:seed_demo" for entry in changes)
    off_day, on_day = (entry.created_at.date() for entry in changes)
    assert off_day < on_day <= timezone.now().date()
    assert changes[0].created_at.time() == time(12, 0)
    dropped_off = ledger.filter(day=off_day, category="usage", outcome="dropped", reason="usage_collection_disabled")
    assert dropped_off.exists()
    assert not IngestionCount.objects.filter(reason="usage_collection_disabled").exclude(tenant=contoso).exists()
    assert not ledger.filter(day=off_day - timedelta(days=1), reason="usage_collection_disabled").exists()

    # Sign-ins, and where to use them.
    admin = get_user_model().objects.get(username="contoso-admin")
    support = get_user_model().objects.get(username="support")
    assert admin.portal_role.role == PortalRole.Role.TENANT_ADMIN
    assert admin.portal_role.tenant == contoso
    assert support.portal_role.role == PortalRole.Role.SUPPORT
    assert admin.check_password(PASSWORD)
    assert "http://127.0.0.1:8000/admin/" in output
    assert f"contoso-admin / {PASSWORD}" in output
    assert f"support / {PASSWORD}" in output


@pytest.mark.django_db
def test_seed_demo_stores_no_cleartext_identifier():
    _seed("--days", "1", "--password", PASSWORD)
    stored = [
        *ErrorReport.objects.all_tenants().values_list("user_hash", "sip_uri_hash", "ip_network", "error_log"),
        *EndUser.objects.all_tenants().values_list("user_hash", flat=True),
    ]
    text = repr(stored)
    assert "sip:" not in text
    assert not re.search(r"amosmarble|\.marble", text)
    assert not re.search(r"\b(203\.0\.113|198\.51\.100)\.(?!0/24)\d+", text)


@pytest.mark.django_db
def test_seed_demo_generates_passwords_shown_once():
    output = _seed("--days", "1")
    password = re.search(r"contoso-admin / (\S+)", output).group(1)
    assert get_user_model().objects.get(username="contoso-admin").check_password(password)
    assert "shown only once" in output


@pytest.mark.django_db
def test_seed_demo_says_where_the_demo_is_served():
    output = _seed("--days", "1", "--password", PASSWORD, "--url", "http://127.0.0.1:8765/")
    assert "Sign in at http://127.0.0.1:8765/admin/ (dashboard: http://127.0.0.1:8765/portal/dashboard/)" in output
    assert ":8000" not in output


def test_seed_demo_refuses_a_database_that_is_not_empty(contoso):
    before = AuditLogEntry.objects.count()
    with pytest.raises(CommandError, match=re.escape(NOT_EMPTY)):
        _seed("--days", "1", "--password", PASSWORD)
    assert Tenant.objects.all_tenants().count() == 1
    assert AuditLogEntry.objects.count() == before
    assert not get_user_model().objects.exists()


@pytest.mark.django_db
def test_seed_demo_refuses_a_bad_number_of_days():
    with pytest.raises(CommandError, match="--days must be between 1 and 366"):
        _seed("--days", "0")
    assert not Tenant.objects.all_tenants().exists()

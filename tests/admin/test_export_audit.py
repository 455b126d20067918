"""Exports of stored records are audited (who, when, which records, which filters), and the audit
names no person; the audit log's dates read as the rest of the portal's (ISO 8601)."""

import datetime
import re

from django.urls import reverse

from telemetry.pseudonymize import mask_pseudonym
from telemetry.vocabulary import AuditAction
from tenants.models import AuditLogEntry
from tests.admin.conftest import DAY, error_report_create

TYPED_ID = "amos.marble@contoso.com"


def export(name: str) -> str:
    return reverse(f"admin:telemetry_{name}_export")


def drain(response) -> None:
    assert response.status_code == 200
    b"".join(response.streaming_content)


def exports():
    return list(AuditLogEntry.objects.all_tenants().filter(action=AuditAction.EXPORT_RECORDS))


def test_an_export_limited_to_one_tenant_is_audited_for_that_tenant_with_its_filters(
    client, iago, contoso_world, fabrikam_world
):
    error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool)
    client.force_login(iago)
    query = {
        "tenant__id__exact": contoso_world.tenant.pk,
        "from_day": DAY.isoformat(),
        "client__exact": "desktop",
    }
    drain(client.get(export("errorreport"), query))
    [entry] = exports()
    assert entry.tenant == contoso_world.tenant
    assert entry.actor == "iago"
    assert entry.target == "error reports"
    assert entry.new_value["from"] == DAY.isoformat()
    assert entry.new_value["tenant"] == str(contoso_world.tenant)
    assert "to" not in entry.new_value
    assert entry.summary.startswith("Error reports exported as CSV (")


def test_an_export_over_every_tenant_is_audited_installation_wide(client, iago, contoso_world):
    client.force_login(iago)
    drain(client.get(export("usagerecord")))
    [entry] = exports()
    assert entry.tenant is None
    assert entry.summary == "Usage records exported as CSV (no filter)"


def test_the_audit_of_an_export_names_no_person(client, iago, contoso_world):
    report = error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, user_id=TYPED_ID)
    client.force_login(iago)
    drain(client.get(export("errorreport"), {"user_hash": report.user_hash, "q": TYPED_ID}))
    [entry] = exports()
    stored = f"{entry.target} {entry.new_value} {entry.summary}"
    assert TYPED_ID not in stored
    assert "amos" not in stored
    assert report.user_hash not in stored
    assert entry.new_value["user"] == mask_pseudonym(report.user_hash)
    assert entry.new_value["search"] == "(its text is not kept)"


def test_a_refused_export_writes_no_audit_entry(client, hamlet, contoso_world):
    client.force_login(hamlet)
    assert client.get(export("errorreport")).status_code == 403
    assert exports() == []


def test_the_audit_log_shows_iso_dates(client, iago, contoso_world):
    entry = AuditLogEntry.objects.all_tenants().filter(tenant=contoso_world.tenant).first()
    moment = datetime.datetime(2026, 11, 5, 9, 7, tzinfo=datetime.UTC)
    AuditLogEntry.objects.all_tenants().filter(pk=entry.pk).update(created_at=moment)
    client.force_login(iago)
    page = client.get(reverse("admin:tenants_auditlogentry_changelist")).content.decode()
    assert "2026-11-05 09:07" in page
    assert not re.search(r"Nov\.? 5, 2026", page)

"""End users show their opt-in read-only and their pseudonym masked; keys show their secret once.

Finding a user by their typed ID: tests/admin/test_find_user.py."""

import hashlib

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from telemetry.pseudonymize import mask_pseudonym
from tenants import services
from tenants.models import AuditLogEntry, EndUser, IngestionKey
from tests.conftest import COMMAND_ACTOR


def test_the_end_user_page_shows_the_opt_in_read_only_and_the_pseudonym_masked(client, hamlet, contoso):
    amos = services.end_user_set_error_reporting(tenant=contoso, user_id="amos@contoso.com", opted_in=True)
    client.force_login(hamlet)
    url = reverse("admin:tenants_enduser_change", args=[amos.pk])
    body = client.get(url).content.decode()
    assert mask_pseudonym(amos.user_hash) in body
    assert amos.user_hash not in body
    assert 'name="error_reporting_opted_in"' not in body
    assert client.post(url, {"error_reporting_opted_in": ""}).status_code == 403
    assert EndUser.objects.get(pk=amos.pk).error_reporting_opted_in is True


def test_a_new_key_shows_its_secret_once_and_never_its_hash(client, hamlet, contoso):
    client.force_login(hamlet)
    response = client.post(reverse("admin:tenants_ingestionkey_add"), {"label": "gateway"}, follow=True)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    key = IngestionKey.objects.get(label="gateway")
    assert key.tenant == contoso
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret in response.content.decode()
    assert services.ingestion_key_authenticate(secret=secret) == contoso
    for url in (
        reverse("admin:tenants_ingestionkey_changelist"),
        reverse("admin:tenants_ingestionkey_change", args=[key.pk]),
    ):
        body = client.get(url).content.decode()
        assert key.prefix in body
        assert secret not in body
        assert key.key_hash not in body
    assert AuditLogEntry.objects.get(action="create_ingestion_key", actor="hamlet").tenant == contoso


def test_revoking_a_key_from_its_page_asks_first(client, hamlet, contoso):
    key = services.ingestion_key_create(tenant=contoso, label="old", actor=COMMAND_ACTOR).key
    client.force_login(hamlet)
    change = client.get(reverse("admin:tenants_ingestionkey_change", args=[key.pk])).content.decode()
    url = reverse("admin:tenants_ingestionkey_revoke", args=[key.pk])
    assert f'href="{url}"' in change
    asked = client.get(url)
    assert asked.status_code == 200
    assert "Yes, revoke" in asked.content.decode()
    assert client.post(url, {}).status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is None
    assert client.post(url, {"confirm": "yes"}).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    entry = AuditLogEntry.objects.get(action="revoke_ingestion_key")
    assert (entry.actor_user, entry.tenant) == (hamlet, contoso)


def test_revoking_keys_with_the_action_asks_first(client, hamlet, contoso):
    first = services.ingestion_key_create(tenant=contoso, label="one", actor=COMMAND_ACTOR).key
    second = services.ingestion_key_create(tenant=contoso, label="two", actor=COMMAND_ACTOR).key
    client.force_login(hamlet)
    changelist = reverse("admin:tenants_ingestionkey_changelist")
    data = {"action": "revoke_selected", "_selected_action": [first.pk, second.pk]}
    asked = client.post(changelist, data)
    assert asked.status_code == 200
    assert f"{first.prefix}…" in asked.content.decode()
    assert IngestionKey.objects.filter(revoked_at=None).count() == 2
    client.post(changelist, {**data, "confirm": "yes"})
    assert IngestionKey.objects.filter(revoked_at=None).count() == 0
    assert AuditLogEntry.objects.filter(action="revoke_ingestion_key", actor="hamlet").count() == 2


def test_the_audit_log_is_read_only_and_scoped(client, hamlet, othello, iago, contoso, fabrikam):
    client.force_login(hamlet)
    response = client.get(reverse("admin:tenants_auditlogentry_changelist"))
    tenants = {entry.tenant_id for entry in response.context["cl"].result_list}
    assert tenants == {contoso.pk}
    entry = AuditLogEntry.objects.filter(tenant=contoso).first()
    assert client.post(reverse("admin:tenants_auditlogentry_change", args=[entry.pk]), {}).status_code == 403
    client.force_login(iago)
    response = client.get(reverse("admin:tenants_auditlogentry_changelist"))
    assert {contoso.pk, fabrikam.pk} <= {entry.tenant_id for entry in response.context["cl"].result_list}


def test_the_audit_log_says_what_changed_in_plain_words(client, hamlet, contoso):
    services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=services.Actor.for_user(hamlet)
    )
    client.force_login(hamlet)
    body = client.get(reverse("admin:tenants_auditlogentry_changelist")).content.decode()
    assert "Usage data collection turned off" in body
    # The filter offers the changes by name, not by their codes.
    assert "Usage data collection changed" in body


def test_the_end_user_directory_pages_newest_first_without_counting(client, hamlet, contoso, fabrikam):
    EndUser.objects.bulk_create(
        [EndUser(tenant=contoso, user_hash=f"{number:064x}") for number in range(105)]
        + [EndUser(tenant=fabrikam, user_hash=f"{number:064x}") for number in range(3)]
    )
    newest_first = list(EndUser.objects.filter(tenant=contoso).order_by("-id"))
    client.force_login(hamlet)
    url = reverse("admin:tenants_enduser_changelist")

    with CaptureQueriesContext(connection) as queries:
        first = client.get(url)
    second = client.get(url, {"p": 2})

    counts = [
        q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper() and "tenants_enduser" in q["sql"]
    ]
    assert counts == []
    assert list(first.context["cl"].result_list) == newest_first[:100]
    assert list(second.context["cl"].result_list) == newest_first[100:]
    assert "Older" in first.text
    assert "Older" not in second.text

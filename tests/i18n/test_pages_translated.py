"""Every page of the portal in every language: the language asked for, and none of the portal's own
English sentences left on it (tests/i18n/english.py). Fails while a translation is missing."""

import pytest
from django.conf import settings
from django.urls import reverse

from telemetry.services import ingest_batch
from tenants import services
from tenants.admin_base import CONFIRM_STOP_FIELD
from tests.i18n.english import english_sentences, visible_text
from tests.i18n.test_locale import html_lang
from tests.telemetry.factories import census, error, usage

LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


@pytest.fixture
def telemetry(contoso_world, fabrikam_world):
    """Counts for the dashboards, posted through the real ingestion: accepted, dropped and rejected."""
    contoso = contoso_world.tenant
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    ingest_batch(
        tenant=contoso,
        records=[census(), usage(), usage(ims_sent=-1), error(), error(user_id="nobody-opted-in")],
    )
    return contoso_world


def pages_of_a_tenant_admin(world) -> list[tuple[str, str, dict | None]]:
    """(name, URL, POST data or None) of every page a tenant admin reads (the record browsers are
    support staff's)."""
    tenant = world.tenant
    policies = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    return [
        ("admin index", reverse("admin:index"), None),
        ("policies", policies, None),
        (
            "stop-collection confirmation",
            policies,
            {"usage_collection_enabled": "False", "watson_uploads_enabled": "True", "_save": "Save"},
        ),
        ("dashboard", reverse("dashboard"), None),
        ("data sheet", reverse("datasheet"), None),
        ("erase page", reverse("erase_end_user"), None),
        ("erase preview", reverse("erase_end_user"), {"user_id": "amos@contoso.com"}),
        ("end users", reverse("admin:tenants_enduser_changelist"), None),
        ("audit log", reverse("admin:tenants_auditlogentry_changelist"), None),
        ("404", "/portal/no-such-page", None),
    ]


def pages_of_support_staff(world) -> list[tuple[str, str, dict | None]]:
    tenant = world.tenant
    return [
        ("admin index", reverse("admin:index"), None),
        ("tenant list", reverse("admin:tenants_tenant_changelist"), None),
        ("policies (read-only)", reverse("admin:tenants_tenant_change", args=[tenant.pk]), None),
        ("dashboard", f"{reverse('dashboard')}?tenant={tenant.slug}", None),
        ("all-tenants dashboard", reverse("dashboard_all_tenants"), None),
        ("census browser", reverse("admin:telemetry_censusrecord_changelist"), None),
        ("error report browser", reverse("admin:telemetry_errorreport_changelist"), None),
        ("usage record browser", reverse("admin:telemetry_usagerecord_changelist"), None),
        ("data sheet", reverse("datasheet"), None),
        ("end users", reverse("admin:tenants_enduser_changelist"), None),
        ("audit log", reverse("admin:tenants_auditlogentry_changelist"), None),
        ("403", reverse("admin:tenants_tenant_add"), None),
        ("404", "/portal/no-such-page", None),
    ]


def walk(client, pages, language: str) -> list[str]:
    """What is wrong on each page, as lines of a report (empty when every page is right)."""
    report = []
    for name, url, data in pages:
        if data is None:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        else:
            response = client.post(url, data, HTTP_ACCEPT_LANGUAGE=language)
        expected_status = {"404": 404, "403": 403}.get(name, 200)
        if response.status_code != expected_status:
            report.append(f"{name} ({url}): status {response.status_code}, not {expected_status}")
            continue
        if html_lang(response) != language:
            report.append(f"{name} ({url}): <html lang={html_lang(response)!r}>")
        try:
            english = english_sentences(visible_text(response.content.decode()), language)
        except AssertionError as missing_catalogue:
            report.append(f"{name} ({url}): {missing_catalogue}")
            continue
        if english:
            report.append(f"{name} ({url}): still English: {english}")
    return report


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_tenant_admin_reads_every_page_in_their_language(client, hamlet, telemetry, language):
    client.force_login(hamlet)

    report = walk(client, pages_of_a_tenant_admin(telemetry), language)

    assert not report, "\n".join(report)


@pytest.mark.parametrize("language", LANGUAGES)
def test_support_staff_read_every_page_in_their_language(client, iago, telemetry, language):
    client.force_login(iago)

    report = walk(client, pages_of_support_staff(telemetry), language)

    assert not report, "\n".join(report)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_sign_in_page_is_in_the_browsers_language(client, db, language):
    report = walk(client, [("sign-in", reverse("admin:login"), None)], language)
    report += walk(client, [("sign-in refused", reverse("admin:login"), {"username": "x", "password": "y"})], language)

    assert not report, "\n".join(report)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_switcher_turns_the_next_page_into_the_chosen_language(client, hamlet, contoso_world, language):
    client.force_login(hamlet)
    policies = reverse("admin:tenants_tenant_change", args=[contoso_world.tenant.pk])

    client.post(reverse("set_language"), {"language": language, "next": policies}, HTTP_ACCEPT_LANGUAGE="en")
    # The browser still prefers English: the switcher's choice wins.
    page = client.get(policies, HTTP_ACCEPT_LANGUAGE="en")

    assert html_lang(page) == language
    assert english_sentences(visible_text(page.content.decode()), language) == []


def test_the_stop_collection_confirmation_is_the_confirmation(client, hamlet, contoso_world):
    # The walk above posts the policies form: make sure it lands on the confirmation, not a saved change.
    client.force_login(hamlet)
    [page] = [entry for entry in pages_of_a_tenant_admin(contoso_world) if entry[0] == "stop-collection confirmation"]

    response = client.post(page[1], page[2])

    assert response.status_code == 200
    assert f'name="{CONFIRM_STOP_FIELD}"' in response.content.decode()
    contoso_world.tenant.refresh_from_db()
    assert contoso_world.tenant.usage_collection_enabled

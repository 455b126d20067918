"""A change that only starts collecting is saved at once and says, in the message that it is saved,
what it starts (the what-if in numbers); a user found by typed ID is explained client by client."""

import datetime
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from telemetry.models import IngestionCount
from telemetry.pseudonymize import user_pseudonyms
from tenants import services
from tenants.models import WebServiceConfiguration
from tests.admin.test_find_user import assert_nowhere, find
from tests.conftest import COMMAND_ACTOR

END_USERS = "tenants_enduser"


def tenant_url(tenant):
    return reverse("admin:tenants_tenant_change", args=[tenant.pk])


def week(tenant, *, category, client, outcome, reason="", per_day):
    today = timezone.now().date()
    for back in range(1, 8):
        IngestionCount.objects.create(
            tenant=tenant,
            day=today - datetime.timedelta(days=back),
            category=category,
            client=client,
            outcome=outcome,
            reason=reason,
            records=per_day,
        )


def infos(response) -> list[str]:
    return [str(message) for message in response.context["messages"] if message.level_tag == "info"]


# --- part 2: what a start starts, said once it is saved ------------------------------------------


def test_turning_usage_on_saves_at_once_and_says_what_it_starts(client, hamlet, contoso, fabrikam):
    contoso = services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR
    )
    services.end_user_set_error_reporting(tenant=contoso, user_id="amos", opted_in=True)
    week(contoso, category="usage", client="desktop", outcome="dropped", reason="usage_collection_disabled", per_day=70)
    week(fabrikam, category="usage", client="desktop", outcome="dropped", reason="usage_collection_disabled", per_day=9)
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "True", "watson_uploads_enabled": "True"}
    response = client.post(tenant_url(contoso), data, follow=True)
    assert response.redirect_chain == [(tenant_url(contoso), 302)]
    assert infos(response) == [
        "Usage data collection turned on. At most 70 records a day start being collected (average of the last "
        "7 days). 1 end user who opted in to error reporting sends error reports again. Pools affected: every "
        "pool of the organization."
    ]
    contoso.refresh_from_db()
    assert contoso.usage_collection_enabled


def test_turning_watson_on_says_what_it_starts_and_nothing_of_usage(client, hamlet, contoso):
    contoso = services.tenant_setting_set(tenant=contoso, setting=services.WATSON, value=False, actor=COMMAND_ACTOR)
    week(contoso, category="error", client="meetings_app", outcome="dropped", reason="watson_disabled", per_day=4)
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "True", "watson_uploads_enabled": "True"}
    response = client.post(tenant_url(contoso), data, follow=True)
    assert infos(response) == [
        "Windows crash uploads turned on. About 4 records a day start being collected (average of the last 7 "
        "days). Pools affected: every pool of the organization."
    ]


def test_a_save_that_starts_nothing_says_nothing_of_starts(client, hamlet, contoso):
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "True", "watson_uploads_enabled": "True", "keep_usage_days": "90"}
    response = client.post(tenant_url(contoso), data, follow=True)
    assert infos(response) == []


def test_turning_the_meetings_app_on_says_which_pools_and_how_many_records(client, hamlet, contoso_pool):
    tenant = contoso_pool.tenant
    week(
        tenant,
        category="usage",
        client="meetings_app",
        outcome="dropped",
        reason="meeting_ux_telemetry_disabled",
        per_day=30,
    )
    global_setting = WebServiceConfiguration.objects.get(tenant=tenant, scope="global")
    client.force_login(hamlet)
    url = reverse("admin:tenants_webserviceconfiguration_change", args=[global_setting.pk])
    response = client.post(url, {"meeting_ux": "True"}, follow=True)
    assert response.status_code == 200
    assert infos(response) == [
        "Meetings App telemetry turned on at Global. About 30 records a day start being collected (average of "
        "the last 7 days). Pools affected: pool01.contoso.com."
    ]
    global_setting.refresh_from_db()
    assert global_setting.meeting_ux_enable_telemetry


def test_adding_a_setting_that_turns_a_pool_on_says_so_too(client, hamlet, contoso_pool):
    client.force_login(hamlet)
    data = {"scope_kind": "service", "scope_pool": contoso_pool.pk, "meeting_ux": "True"}
    response = client.post(reverse("admin:tenants_webserviceconfiguration_add"), data, follow=True)
    assert infos(response) == [
        "Meetings App telemetry turned on at Service:WebServer:pool01.contoso.com. No records a day start being "
        "collected (none arrived in the last 7 days). Pools affected: pool01.contoso.com."
    ]


def test_adding_a_setting_that_changes_no_pool_says_nothing_of_starts(client, hamlet, contoso_pool):
    services.web_service_configuration_set(
        tenant=contoso_pool.tenant,
        scope=services.scope_parse(tenant=contoso_pool.tenant, identity="Global"),
        meeting_ux_enable_telemetry=True,
        actor=COMMAND_ACTOR,
    )
    client.force_login(hamlet)
    data = {"scope_kind": "site", "scope_site": contoso_pool.site.pk, "meeting_ux": "True"}
    response = client.post(reverse("admin:tenants_webserviceconfiguration_add"), data, follow=True)
    assert response.status_code == 200
    assert infos(response) == []


# --- part 3: the explainer of a user found by typed ID -------------------------------------------


def explainer(response) -> dict:
    assert response.status_code == 200
    return response.context["user_explainer"]


def client_lines(response) -> dict[str, str]:
    return {name: str(lines) for name, lines in explainer(response)["clients"]}


@pytest.fixture
def amos(contoso_world):
    return services.end_user_set_error_reporting(
        tenant=contoso_world.tenant, user_id="amos.marble@contoso.com", opted_in=True
    )


def test_a_found_user_who_opted_in_is_explained_client_by_client(client, hamlet, amos, fabrikam_world):
    client.force_login(hamlet)
    response = find(client, END_USERS, "  Amos.Marble@Contoso.com ")
    lines = client_lines(response)
    assert list(lines) == ["Desktop client", "Mobile client", "Web client", "Meetings App", "Join launcher"]
    for name in ("Desktop client", "Mobile client", "Web client"):
        assert (
            '<li><strong>Error reports</strong>: Collected <span class="help">(DisableAutomaticSendTracing is '
            "False and the user has opted in; decided by Global (client policy of the organization) and the "
            "user&#x27;s own opt-in)</span></li>"
        ) in lines[name]
        assert "<li><strong>Usage</strong>: Collected" in lines[name]
        assert "<li><strong>Census</strong>: Collected" in lines[name]
    # The world's Global setting is Off (only its site and pool are On): shown for Global, with the note.
    assert (
        '<li><strong>Usage</strong>: Not collected <span class="help">(MeetingUxEnableTelemetry False at '
        "Global; decided by Global)</span></li>"
    ) in lines["Meetings App"]
    assert "<strong>Windows crash uploads</strong>: Collected" in lines["Meetings App"]
    assert "Windows crash uploads" not in lines["Join launcher"]
    body = response.content.decode()
    assert "What is collected for this user in Contoso" in body
    assert "This user has opted in to error reporting from their client." in body
    assert "they follow the setting of the pool that hosts the meeting" in body
    assert "Fabrikam" not in body
    assert_nowhere(response, "  Amos.Marble@Contoso.com ")


def test_a_user_who_never_opted_in_is_still_explained(client, hamlet, contoso_world):
    client.force_login(hamlet)
    response = find(client, END_USERS, "never.seen@contoso.com")
    assert list(response.context["cl"].result_list) == []
    lines = client_lines(response)
    assert (
        '<li><strong>Error reports</strong>: Not collected <span class="help">(the user has not opted in to '
        "error reporting; decided by Global (client policy of the organization) and the user&#x27;s own "
        "opt-in)</span></li>"
    ) in lines["Desktop client"]
    body = response.content.decode()
    assert "The portal has no opt-in from this user: their client has never sent one" in body
    assert "No user with that ID." in body
    assert_nowhere(response, "never.seen@contoso.com")


def test_with_usage_off_nothing_but_census_is_collected_from_the_organizations_clients(client, hamlet, amos):
    services.tenant_setting_set(tenant=amos.tenant, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    client.force_login(hamlet)
    lines = client_lines(find(client, END_USERS, "amos.marble@contoso.com"))
    off = (
        'Not collected <span class="help">(DisableAutomaticSendTracing is True: usage data and error '
        "reporting are off for the organization; decided by Global (client policy of the organization))</span>"
    )
    for name in ("Desktop client", "Mobile client", "Web client"):
        assert f"<li><strong>Usage</strong>: {off}</li>" in lines[name]
        assert f"<li><strong>Error reports</strong>: {off}</li>" in lines[name]
        assert "<li><strong>Census</strong>: Collected" in lines[name]


def test_the_meetings_app_follows_the_global_setting_whoever_the_user(client, hamlet, amos):
    services.web_service_configuration_set(
        tenant=amos.tenant,
        scope=services.scope_parse(tenant=amos.tenant, identity="Global"),
        meeting_ux_enable_telemetry=True,
        actor=COMMAND_ACTOR,
    )
    client.force_login(hamlet)
    lines = client_lines(find(client, END_USERS, "somebody.else@contoso.com"))
    for name in ("Meetings App", "Join launcher"):
        assert (
            '<li><strong>Error reports</strong>: Collected <span class="help">(MeetingUxEnableTelemetry True '
            "at Global; decided by Global)</span></li>"
        ) in lines[name]


def test_a_user_of_another_tenant_is_explained_as_nobody_in_ones_own(client, hamlet, contoso_world, fabrikam_world):
    # ines@fabrikam.com opted in at fabrikam; in contoso her ID is another pseudonym, with no opt-in.
    client.force_login(hamlet)
    response = find(client, END_USERS, "ines@fabrikam.com")
    assert explainer(response)["organization"] == "Contoso"
    assert "The portal has no opt-in from this user" in response.content.decode()
    assert "Fabrikam" not in response.content.decode()
    # Her fabrikam pseudonyms, put into the URL by hand with fabrikam's id, show nothing of fabrikam.
    pseudonyms = ",".join(user_pseudonyms("ines@fabrikam.com", tenant_id=fabrikam_world.tenant.pk))
    url = reverse(f"admin:{END_USERS}_changelist")
    crafted = client.get(f"{url}?{urlencode({'user_hash': pseudonyms, 'tenant__id__exact': fabrikam_world.tenant.pk})}")
    assert crafted.status_code == 200
    body = crafted.content.decode()
    assert "Fabrikam" not in body
    assert fabrikam_world.end_user.user_hash[:8] not in body
    assert list(crafted.context["cl"].result_list) == []
    assert crafted.context["user_explainer"]["organization"] == "Contoso"


def test_support_staff_see_the_explainer_of_the_organization_they_chose(client, iago, amos, fabrikam_world):
    client.force_login(iago)
    response = client.post(
        reverse(f"admin:{END_USERS}_find_user"),
        {"user_id": "amos.marble@contoso.com", "tenant": amos.tenant.slug},
    )
    assert response.status_code == 302
    assert f"tenant__id__exact={amos.tenant.pk}" in response["Location"]
    followed = client.get(response["Location"])
    assert list(followed.context["cl"].result_list) == [amos]
    assert explainer(followed)["organization"] == "Contoso"
    assert "This user has opted in to error reporting" in followed.content.decode()


def test_without_a_looked_up_user_there_is_no_explainer(client, hamlet, amos):
    client.force_login(hamlet)
    response = client.get(reverse(f"admin:{END_USERS}_changelist"))
    assert response.status_code == 200
    assert "user_explainer" not in response.context
    assert 'id="user-explainer"' not in response.content.decode()
    malformed = client.get(reverse(f"admin:{END_USERS}_changelist") + "?user_hash=amos.marble")
    assert 'id="user-explainer"' not in malformed.content.decode()


def test_the_explainer_logs_no_typed_id(client, hamlet, amos, caplog):
    client.force_login(hamlet)
    with caplog.at_level("DEBUG"):
        find(client, END_USERS, "Amos.Marble@Contoso.com")
    logged = caplog.text.casefold()
    assert "amos.marble" not in logged

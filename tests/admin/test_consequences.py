"""Consequences an admin sees before and after acting (issue 10): the what-if of the confirmation,
shadowing warnings, the usage-off banner, the explainer on the pool pages, opt-ins, keys' last use."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from telemetry.models import IngestionCount
from telemetry.policy import TenantPolicy
from tenants import consequences, services
from tenants.admin_base import CONFIRM_STOP_FIELD
from tenants.models import IngestionKey, WebServiceConfiguration
from tests.conftest import COMMAND_ACTOR


def tenant_url(tenant):
    return reverse("admin:tenants_tenant_change", args=[tenant.pk])


def config_url(configuration):
    return reverse("admin:tenants_webserviceconfiguration_change", args=[configuration.pk])


def days_ago(days: int) -> datetime.date:
    return timezone.now().date() - datetime.timedelta(days=days)


def ledger(tenant, *, category, client, outcome, reason="", per_day, days=range(1, 8)):
    """`per_day` records on each of `days` days ago, straight into the ledger."""
    for back in days:
        IngestionCount.objects.create(
            tenant=tenant,
            day=days_ago(back),
            category=category,
            client=client,
            outcome=outcome,
            reason=reason,
            records=per_day,
        )


@pytest.fixture
def contoso_ledger(contoso_world, fabrikam_world):
    """A week of counts built for the purpose, with counts around it that the what-if must ignore."""
    contoso = contoso_world.tenant
    ledger(contoso, category="usage", client="desktop", outcome="accepted", per_day=100)
    ledger(contoso, category="error", client="mobile", outcome="accepted", per_day=40)
    ledger(contoso, category="usage", client="meetings_app", outcome="accepted", per_day=500)
    ledger(contoso, category="error", client="meetings_app", outcome="accepted", per_day=21)
    ledger(contoso, category="census", client="desktop", outcome="accepted", per_day=999)
    ledger(contoso, category="usage", client="web", outcome="rejected", reason="invalid", per_day=999)
    # Today is not over, and eight days ago is outside the week.
    ledger(contoso, category="usage", client="desktop", outcome="accepted", per_day=5000, days=[0, 8])
    ledger(fabrikam_world.tenant, category="usage", client="desktop", outcome="accepted", per_day=777)
    return contoso_world


def what_if_of(response) -> list[str]:
    assert response.status_code == 200
    return response.context["what_if"]


def test_turning_usage_off_says_how_many_records_users_and_pools_it_affects(client, hamlet, contoso_ledger):
    services.end_user_set_error_reporting(tenant=contoso_ledger.tenant, user_id="not.me", opted_in=False)
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "False", "watson_uploads_enabled": "True"}
    response = client.post(tenant_url(contoso_ledger.tenant), data)
    assert what_if_of(response) == [
        "About 140 records a day stop being collected (average of the last 7 days).",
        "1 end user who opted in to error reporting stops sending error reports.",
        "Pools affected: every pool of the organization.",
    ]
    assert "About 140 records a day stop being collected" in response.content.decode()


def test_turning_watson_off_bounds_the_records_it_affects(client, hamlet, contoso_ledger):
    client.force_login(hamlet)
    data = {"usage_collection_enabled": "True", "watson_uploads_enabled": "False"}
    assert what_if_of(client.post(tenant_url(contoso_ledger.tenant), data)) == [
        "At most 21 records a day stop being collected (average of the last 7 days).",
        "Pools affected: every pool of the organization.",
    ]


def test_turning_a_pools_meetings_app_off_counts_the_meetings_app_records(client, hamlet, contoso_ledger):
    client.force_login(hamlet)
    response = client.post(config_url(contoso_ledger.pool_configuration), {"meeting_ux": "False"})
    # pool01 is the only pool that collects the Meetings App: all of its 521 records a day stop.
    assert what_if_of(response) == [
        "About 521 records a day stop being collected (average of the last 7 days).",
        "Pools affected: pool01.contoso.com.",
    ]


def test_removing_a_setting_shows_the_what_if_too(client, hamlet, contoso_ledger):
    client.force_login(hamlet)
    services.web_service_configuration_set(
        tenant=contoso_ledger.tenant,
        scope=services.scope_parse(tenant=contoso_ledger.tenant, identity="Site:Redmond"),
        meeting_ux_enable_telemetry=False,
        actor=COMMAND_ACTOR,
    )
    url = reverse("admin:tenants_webserviceconfiguration_delete", args=[contoso_ledger.pool_configuration.pk])
    body = client.get(url).content.decode()
    assert "About 521 records a day stop being collected (average of the last 7 days)." in body


def test_turning_collection_back_on_counts_what_policy_dropped(contoso):
    contoso = services.tenant_setting_set(
        tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR
    )
    ledger(
        contoso, category="usage", client="desktop", outcome="dropped", reason="usage_collection_disabled", per_day=70
    )
    ledger(contoso, category="error", client="desktop", outcome="dropped", reason="user_not_opted_in", per_day=9)
    lines = consequences.client_policy_what_if(tenant=contoso, new=TenantPolicy())
    assert lines == [
        "At most 70 records a day start being collected (average of the last 7 days).",
        "0 end users who opted in to error reporting send error reports again.",
        "Pools affected: every pool of the organization.",
    ]


def test_no_counts_says_so(contoso):
    lines = consequences.client_policy_what_if(tenant=contoso, new=TenantPolicy(disable_automatic_send_tracing=True))
    assert lines[0] == "No records a day stop being collected (none arrived in the last 7 days)."


# --- shadowing ----------------------------------------------------------------------------------


@pytest.fixture
def topology(contoso_pool):
    """contoso: pool01 in site Redmond, pool02 in no site; only the Global setting (Off)."""
    tenant = contoso_pool.tenant
    pool02 = services.pool_create(tenant=tenant, fqdn="pool02.contoso.com", actor=COMMAND_ACTOR)
    return tenant, contoso_pool, pool02


def set_at(tenant, identity, value):
    return services.web_service_configuration_set(
        tenant=tenant,
        scope=services.scope_parse(tenant=tenant, identity=identity),
        meeting_ux_enable_telemetry=value,
        actor=COMMAND_ACTOR,
    )


def save_and_read_warnings(client, configuration) -> list[str]:
    response = client.post(config_url(configuration), {"meeting_ux": "True"}, follow=True)
    assert response.status_code == 200
    return [str(message) for message in response.context["messages"] if message.level_tag == "warning"]


@pytest.mark.parametrize(
    ("others", "saved", "warning"),
    [
        (
            [("Site:Redmond", False)],
            "Global",
            "The Meetings App setting at Global does not decide for every pool it covers: a more specific scope "
            "keeps its own value on pool01.contoso.com (Off, set at Site:Redmond).",
        ),
        (
            [("Service:WebServer:pool02.contoso.com", False)],
            "Global",
            "The Meetings App setting at Global does not decide for every pool it covers: a more specific scope "
            "keeps its own value on pool02.contoso.com (Off, set at Service:WebServer:pool02.contoso.com).",
        ),
        (
            [("Site:Redmond", False), ("Service:WebServer:pool01.contoso.com", False)],
            "Site:Redmond",
            "The Meetings App setting at Site:Redmond does not decide for every pool it covers: a more specific "
            "scope keeps its own value on pool01.contoso.com (Off, set at Service:WebServer:pool01.contoso.com).",
        ),
        ([], "Global", None),
        ([("Site:Redmond", False)], "Site:Redmond", None),
        ([("Service:WebServer:pool01.contoso.com", False)], "Service:WebServer:pool01.contoso.com", None),
    ],
)
def test_saving_a_shadowed_setting_warns_and_the_policies_page_keeps_saying_it(
    client, hamlet, topology, others, saved, warning
):
    tenant, _, _ = topology
    for identity, value in others:
        set_at(tenant, identity, value)
    configuration = next(row for row in WebServiceConfiguration.objects.filter(tenant=tenant) if row.identity == saved)
    client.force_login(hamlet)
    warnings = save_and_read_warnings(client, configuration)
    assert warnings == ([warning] if warning else [])
    # The policies page says it while it holds, with those of the other scopes that are shadowed too.
    page = client.get(tenant_url(tenant))
    if warning:
        assert warning in page.context["shadowing_warnings"]
        assert warning in page.content.decode()
    if not others:
        assert page.context["shadowing_warnings"] == []


# --- the usage-off banner and the wording of Off -------------------------------------------------


BANNER = "Usage data collection is Off for Contoso since"


def test_while_usage_is_off_the_home_policies_and_dashboard_say_so_and_since_when(client, hamlet, contoso):
    client.force_login(hamlet)
    pages = [reverse("admin:index"), tenant_url(contoso), reverse("dashboard")]
    for url in pages:
        assert BANNER not in client.get(url).content.decode(), url
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    entry = contoso.audit_log.filter(action="set_client_policy").first()
    since = f"{entry.created_at:%Y-%m-%d %H:%M} UTC"
    for url in pages:
        body = client.get(url).content.decode()
        assert f"{BANNER} {since}: no usage data and no error reports" in body, url
        assert "the Meetings App and its join launcher are not affected" in body.replace("The Meetings", "the Meetings")


def test_the_off_help_and_the_confirmation_say_the_meetings_app_follows_its_own_setting(client, hamlet, contoso):
    client.force_login(hamlet)
    assert "they follow their own setting (Meetings App telemetry)" in client.get(tenant_url(contoso)).content.decode()
    data = {"usage_collection_enabled": "False", "watson_uploads_enabled": "True"}
    confirm = client.post(tenant_url(contoso), data).content.decode()
    assert "The Meetings App and its join launcher are not affected" in confirm
    assert f'name="{CONFIRM_STOP_FIELD}"' in confirm


# --- the explainer on the pool pages, opt-ins -----------------------------------------------------


def test_the_pools_list_and_page_show_what_is_collected_and_why(client, hamlet, topology):
    tenant, pool01, _ = topology
    set_at(tenant, "Site:Redmond", True)
    client.force_login(hamlet)
    listing = client.get(reverse("admin:tenants_pool_changelist")).content.decode()
    assert "What is collected for meetings on this pool" in listing
    assert (
        "<strong>Meetings App</strong>: Collected "
        '<span class="help">(MeetingUxEnableTelemetry True at Site:Redmond; decided by Site:Redmond)</span>'
    ) in listing
    assert (
        "<strong>Meetings App</strong>: Not collected "
        '<span class="help">(MeetingUxEnableTelemetry False at Global; decided by Global)</span>'
    ) in listing
    assert "<strong>Census</strong>: Collected" in listing
    assert "<strong>Error reporting</strong>: Collected for users who opted in" in listing
    page = client.get(reverse("admin:tenants_pool_change", args=[pool01.pk])).content.decode()
    assert "<strong>Windows crash uploads</strong>: Collected" in page
    assert "decided by Site:Redmond" in page


def test_the_policies_page_counts_the_opted_in_users(client, hamlet, contoso, fabrikam):
    for user_id, opted_in in (("a", True), ("b", True), ("c", False)):
        services.end_user_set_error_reporting(tenant=contoso, user_id=user_id, opted_in=opted_in)
    services.end_user_set_error_reporting(tenant=fabrikam, user_id="d", opted_in=True)
    client.force_login(hamlet)
    body = client.get(tenant_url(contoso)).content.decode()
    assert "2 end users have opted in to error reporting from their client." in body


# --- keys: last used ----------------------------------------------------------------------------------


def test_a_key_records_the_day_it_was_last_used_once_a_day(client, hamlet, contoso, django_assert_num_queries):
    issued = services.ingestion_key_create(tenant=contoso, label="gateway", actor=COMMAND_ACTOR)
    client.force_login(hamlet)
    assert "Never" in client.get(reverse("admin:tenants_ingestionkey_changelist")).content.decode()
    assert services.ingestion_key_authenticate(secret=issued.secret) == contoso
    today = timezone.now().date()
    assert IngestionKey.objects.get(pk=issued.key.pk).last_used_on == today
    # The rest of the day's requests read the key and write nothing.
    with django_assert_num_queries(1):
        services.ingestion_key_authenticate(secret=issued.secret)
    IngestionKey.objects.filter(pk=issued.key.pk).update(last_used_on=today - datetime.timedelta(days=3))
    services.ingestion_key_authenticate(secret=issued.secret)
    assert IngestionKey.objects.get(pk=issued.key.pk).last_used_on == today
    listing = client.get(reverse("admin:tenants_ingestionkey_changelist")).content.decode()
    assert "Last used (UTC day)" in listing
    assert f"{today:%Y-%m-%d}" in listing


def test_adding_a_setting_that_stops_one_of_several_pools_bounds_the_records(client, hamlet, contoso_ledger):
    tenant = contoso_ledger.tenant
    pool02 = services.pool_create(
        tenant=tenant, fqdn="pool02.contoso.com", site=contoso_ledger.site, actor=COMMAND_ACTOR
    )
    client.force_login(hamlet)
    data = {"scope_kind": "service", "scope_pool": pool02.pk, "meeting_ux": "False"}
    response = client.post(reverse("admin:tenants_webserviceconfiguration_add"), data)
    # The ledger does not split the Meetings App by pool, and pool01 keeps collecting: a bound, not a figure.
    assert what_if_of(response) == [
        "At most 521 records a day stop being collected (average of the last 7 days).",
        "Pools affected: pool02.contoso.com.",
    ]
    assert not WebServiceConfiguration.objects.filter(pool=pool02).exists()

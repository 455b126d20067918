"""The decision table of domain.md, every combination, each case naming the reason it expects."""

import itertools

import pytest

from telemetry.policy import (
    DEFAULT_IDENTITY,
    Category,
    Client,
    DropReason,
    MeetingUxSetting,
    TenantPolicy,
    decide,
    resolve_meeting_ux,
)

REGULAR_CLIENTS = [Client.DESKTOP, Client.MOBILE, Client.WEB]
MEETING_CLIENTS = [Client.MEETINGS_APP, Client.JOIN_LAUNCHER]
BOOLS = [False, True]


def expected(category, client, disable_tracing, watson, meeting_ux, opted_in, crash):
    """The table of domain.md, written out independently of policy.py."""
    if category == Category.CENSUS:
        return None
    if client in MEETING_CLIENTS:
        if category == Category.ERROR and crash:
            return None if watson else DropReason.WATSON_DISABLED
        return None if meeting_ux else DropReason.MEETING_UX_TELEMETRY_DISABLED
    if disable_tracing:
        return DropReason.USAGE_COLLECTION_DISABLED
    if category == Category.USAGE:
        return None
    return None if opted_in else DropReason.USER_NOT_OPTED_IN


ALL_CASES = list(itertools.product(list(Category), list(Client), BOOLS, BOOLS, BOOLS, BOOLS, BOOLS))


@pytest.mark.parametrize(
    ("category", "client", "disable_tracing", "watson", "meeting_ux", "opted_in", "crash"), ALL_CASES
)
def test_every_combination_follows_the_table(category, client, disable_tracing, watson, meeting_ux, opted_in, crash):
    decision = decide(
        category=category,
        client=client,
        tenant_policy=TenantPolicy(disable_automatic_send_tracing=disable_tracing, watson_enabled=watson),
        meeting_ux=MeetingUxSetting(enabled=meeting_ux, identity="Global"),
        user_opted_in=opted_in,
        windows_crash=crash,
    )
    reason = expected(category, client, disable_tracing, watson, meeting_ux, opted_in, crash)
    assert decision.reason == reason
    assert decision.stored is (reason is None)
    assert decision.explanation


ON = TenantPolicy(disable_automatic_send_tracing=False)
OFF = TenantPolicy(disable_automatic_send_tracing=True)
MEETING_ON = MeetingUxSetting(enabled=True, identity="Service:WebServer:pool01.contoso.com")
MEETING_OFF = MeetingUxSetting(enabled=False, identity="Global")


@pytest.mark.parametrize(
    ("category", "client", "policy", "meeting_ux", "opted_in", "crash", "reason"),
    [
        # census, any client: always, whatever the policies say
        (Category.CENSUS, Client.DESKTOP, OFF, MEETING_OFF, False, False, None),
        (Category.CENSUS, Client.MEETINGS_APP, OFF, MEETING_OFF, False, False, None),
        # usage, desktop/mobile/web: DisableAutomaticSendTracing is False
        (Category.USAGE, Client.DESKTOP, ON, MEETING_OFF, False, False, None),
        (Category.USAGE, Client.MOBILE, OFF, MEETING_ON, True, False, DropReason.USAGE_COLLECTION_DISABLED),
        # usage, Meetings App/join launcher: the pool's effective MeetingUxEnableTelemetry
        (Category.USAGE, Client.MEETINGS_APP, ON, MEETING_OFF, True, False, DropReason.MEETING_UX_TELEMETRY_DISABLED),
        (Category.USAGE, Client.JOIN_LAUNCHER, OFF, MEETING_ON, False, False, None),
        # error, desktop/mobile/web: switch on AND the user's opt-in
        (Category.ERROR, Client.WEB, ON, MEETING_OFF, True, False, None),
        (Category.ERROR, Client.WEB, ON, MEETING_ON, False, False, DropReason.USER_NOT_OPTED_IN),
        (Category.ERROR, Client.DESKTOP, OFF, MEETING_ON, True, False, DropReason.USAGE_COLLECTION_DISABLED),
        # a desktop crash is an ordinary error report: Watson governs only the Meetings App
        (Category.ERROR, Client.DESKTOP, ON, MEETING_OFF, False, True, DropReason.USER_NOT_OPTED_IN),
        # error, Meetings App: MeetingUxEnableTelemetry, no user opt-in involved
        (Category.ERROR, Client.MEETINGS_APP, OFF, MEETING_ON, False, False, None),
        (Category.ERROR, Client.MEETINGS_APP, ON, MEETING_OFF, True, False, DropReason.MEETING_UX_TELEMETRY_DISABLED),
        # a Windows crash from the Meetings App: the Watson setting instead
        (Category.ERROR, Client.MEETINGS_APP, ON, MEETING_OFF, False, True, None),
    ],
)
def test_named_rows_of_the_table(category, client, policy, meeting_ux, opted_in, crash, reason):
    decision = decide(
        category=category,
        client=client,
        tenant_policy=policy,
        meeting_ux=meeting_ux,
        user_opted_in=opted_in,
        windows_crash=crash,
    )
    assert decision.reason == reason


def test_watson_off_drops_a_meetings_app_windows_crash():
    decision = decide(
        category=Category.ERROR,
        client=Client.MEETINGS_APP,
        tenant_policy=TenantPolicy(watson_enabled=False),
        meeting_ux=MEETING_ON,
        windows_crash=True,
    )
    assert (decision.stored, decision.reason) == (False, DropReason.WATSON_DISABLED)


def test_a_meeting_record_without_a_resolved_setting_is_dropped_by_the_default():
    decision = decide(category=Category.USAGE, client=Client.MEETINGS_APP, tenant_policy=ON)
    assert decision.reason == DropReason.MEETING_UX_TELEMETRY_DISABLED


@pytest.mark.parametrize(
    ("configurations", "pool", "site", "enabled", "identity"),
    [
        ({}, "pool01.contoso.com", "Redmond", False, DEFAULT_IDENTITY),
        ({"Global": True}, "pool01.contoso.com", "Redmond", True, "Global"),
        ({"Global": True, "Site:Redmond": False}, "pool01.contoso.com", "Redmond", False, "Site:Redmond"),
        ({"Global": False, "Site:Dublin": True}, "pool01.contoso.com", "Redmond", False, "Global"),
        (
            {"Global": False, "Site:Redmond": False, "Service:WebServer:pool01.contoso.com": True},
            "pool01.contoso.com",
            "Redmond",
            True,
            "Service:WebServer:pool01.contoso.com",
        ),
        ({"Global": True, "Service:WebServer:pool02.contoso.com": False}, "pool01.contoso.com", None, True, "Global"),
        ({"Site:Redmond": True}, "pool01.contoso.com", None, False, DEFAULT_IDENTITY),
        (
            {"Service:WebServer:pool01.contoso.com": True},
            "pool01.contoso.com",
            None,
            True,
            "Service:WebServer:pool01.contoso.com",
        ),
        ({"Global": True}, None, None, True, "Global"),
    ],
)
def test_most_specific_scope_wins(configurations, pool, site, enabled, identity):
    setting = resolve_meeting_ux(configurations=configurations, pool_fqdn=pool, site_name=site)
    assert (setting.enabled, setting.identity) == (enabled, identity)


def test_explanation_names_the_deciding_scope():
    setting = resolve_meeting_ux(configurations={"Site:Redmond": True}, pool_fqdn="p.contoso.com", site_name="Redmond")
    assert setting.explanation == "MeetingUxEnableTelemetry True at Site:Redmond"

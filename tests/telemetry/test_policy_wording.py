"""The policy in words (telemetry/policy.py): the sentences of api.md, the dashboard's summary, and what a
change stops. Pure functions: no database."""

import pytest

from telemetry.policy import (
    TenantPolicy,
    client_policy_summary,
    explain_error_reporting,
    explain_usage,
    on_off,
    stops_collection,
)

DEFAULTS = TenantPolicy()
USAGE_OFF = TenantPolicy(disable_automatic_send_tracing=True)
WATSON_OFF = TenantPolicy(watson_enabled=False)
ALL_OFF = TenantPolicy(disable_automatic_send_tracing=True, watson_enabled=False)
STOPS_USAGE = (
    "Usage data and error reports stop for every user of the organization. The Meetings App and its join "
    "launcher are not affected: they follow their own setting (Meetings App telemetry), and Windows crash "
    "uploads follow theirs."
)
STOPS_WATSON = "Windows crash uploads from the Meetings App stop."


def test_on_off():
    assert (on_off(True), on_off(False)) == ("On", "Off")


@pytest.mark.parametrize(
    ("policy", "sentence"),
    [
        (DEFAULTS, "DisableAutomaticSendTracing is False (tenant default)"),  # api.md's example, verbatim
        (USAGE_OFF, "DisableAutomaticSendTracing is True (set by the tenant)"),
        (WATSON_OFF, "DisableAutomaticSendTracing is False (tenant default)"),
    ],
)
def test_explain_usage(policy, sentence):
    assert explain_usage(policy) == sentence


@pytest.mark.parametrize(
    ("policy", "user_id", "opted_in", "sentence"),
    [
        (DEFAULTS, "amosmarble", False, "user amosmarble has not opted in"),  # api.md's example, verbatim
        (DEFAULTS, "amosmarble", True, "user amosmarble has opted in"),
        (DEFAULTS, None, False, "no user given: error reporting needs the user's own opt-in"),
        (DEFAULTS, "", False, "no user given: error reporting needs the user's own opt-in"),
        (
            USAGE_OFF,
            "amosmarble",
            True,
            "DisableAutomaticSendTracing is True: error reporting is off for the organization",
        ),
        (USAGE_OFF, None, False, "DisableAutomaticSendTracing is True: error reporting is off for the organization"),
        (WATSON_OFF, "amosmarble", True, "user amosmarble has opted in"),
    ],
)
def test_explain_error_reporting(policy, user_id, opted_in, sentence):
    assert explain_error_reporting(policy, user_id, opted_in) == sentence


@pytest.mark.parametrize(
    ("policy", "usage", "errors", "watson"),
    [
        (DEFAULTS, "On", "On for users who opted in", "On"),
        (USAGE_OFF, "Off", "Off (usage data collection is off)", "On"),
        (WATSON_OFF, "On", "On for users who opted in", "Off"),
        (ALL_OFF, "Off", "Off (usage data collection is off)", "Off"),
    ],
)
def test_client_policy_summary(policy, usage, errors, watson):
    assert client_policy_summary(policy) == [
        ("Usage data collection", usage),
        ("Error reporting", errors),
        ("Windows crash uploads from the Meetings App", watson),
    ]


@pytest.mark.parametrize(
    ("old", "new", "stops"),
    [
        (DEFAULTS, DEFAULTS, []),
        (DEFAULTS, USAGE_OFF, [STOPS_USAGE]),
        (DEFAULTS, WATSON_OFF, [STOPS_WATSON]),
        (DEFAULTS, ALL_OFF, [STOPS_USAGE, STOPS_WATSON]),
        (USAGE_OFF, ALL_OFF, [STOPS_WATSON]),
        (WATSON_OFF, ALL_OFF, [STOPS_USAGE]),
        # Turning something on, or leaving what is off off, stops nothing.
        (ALL_OFF, DEFAULTS, []),
        (USAGE_OFF, USAGE_OFF, []),
        (USAGE_OFF, WATSON_OFF, [STOPS_WATSON]),
        (WATSON_OFF, USAGE_OFF, [STOPS_USAGE]),
    ],
)
def test_stops_collection(old, new, stops):
    assert stops_collection(old, new) == stops

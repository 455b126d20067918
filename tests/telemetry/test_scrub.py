"""Free text is scrubbed of the identifiers the structured fields protect (domain.md, "Personal data")."""

import pytest

from telemetry.pseudonymize import hash_sip_uri, hash_user_id, pseudonym_hash
from telemetry.scrub import scrub

TENANT = 3


def clean(text: str, user_id: str | None = "amosmarble"):
    return scrub(text, tenant_id=TENANT, user_id=user_id)


def marker(kind: str, pseudonym: str) -> str:
    return f"[{kind}:{pseudonym_hash(pseudonym)[:8]}]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sign-in failed for amosmarble", "sign-in failed for {user}"),
        ("AMOSMARBLE timed out", "{user} timed out"),
        ("ａｍｏｓｍａｒｂｌｅ (full width)", "{user} (full width)"),  # NFKC
        ("user=amosmarble;retry", "user={user};retry"),
        ("from sip:Amos.Marble@Contoso.com now", "from {sip} now"),
        ("SIPS:amos.marble@contoso.com", "{sip}"),
        ("mail amos.marble@contoso.com.", "mail {email}."),
        ("client 203.0.113.7 lost", "client [ip:203.0.113.0/24] lost"),
        ("v6 2001:db8:1:2::7 lost", "v6 [ip:2001:db8:1::/48] lost"),
        ("mapped ::ffff:203.0.113.7", "mapped [ip:203.0.113.0/24]"),
        ("6to4 2002:cb00:7107::1.", "6to4 [ip:203.0.113.0/24]."),
        ("nat64 64:ff9b::203.0.113.7", "nat64 [ip:203.0.113.0/24]"),
    ],
)
def test_each_kind_of_identifier_is_replaced_by_its_marker(text, expected):
    user = marker("user", hash_user_id("amosmarble", tenant_id=TENANT))
    sip = marker("sip", hash_sip_uri("amos.marble@contoso.com", tenant_id=TENANT))
    email = marker("email", hash_sip_uri("amos.marble@contoso.com", tenant_id=TENANT))

    result = clean(text)

    assert result.text == expected.format(user=user, sip=sip, email=email)
    assert result.replaced == 1


@pytest.mark.parametrize(
    "text",
    [
        "timeout after 12:30:45",  # a time, not an IPv6 address
        "Foo::Bad in module",  # a C++ name
        "build 10.0.19045.1 crashed",  # a version with more than four parts
        "xamosmarbley is another word",  # the user ID inside a longer word
        "SIGNIN_TIMEOUT",
    ],
)
def test_what_is_not_an_identifier_is_kept(text):
    assert clean(text).text == text
    assert clean(text).replaced == 0


def test_a_marker_is_never_scanned_again():
    # "user" is the user ID and also the word inside the markers the scrub writes.
    result = clean("user 203.0.113.7 sip:user@contoso.com", user_id="user")
    assert result.replaced == 3
    assert result.text.count("[ip:203.0.113.0/24]") == 1
    assert "contoso" not in result.text


def test_markers_are_per_tenant_pseudonyms():
    here = scrub("amosmarble", tenant_id=1, user_id="amosmarble").text
    there = scrub("amosmarble", tenant_id=2, user_id="amosmarble").text
    assert here != there


def test_a_user_id_too_short_to_search_for_is_left_to_the_other_rules():
    assert clean("a b c", user_id="a").text == "a b c"

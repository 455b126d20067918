"""Keyed pseudonyms and IP truncation (README, "Pseudonymization rules")."""

import hashlib
import hmac
import re

import pytest

from telemetry.pseudonymize import (
    hash_census_user_id,
    hash_sip_uri,
    hash_user_id,
    mask_pseudonym,
    truncate_ip,
)

KEY = "an-independent-test-key"


@pytest.fixture(autouse=True)
def _hash_key(settings):
    settings.TELEMETRY_HASH_KEY = KEY


def independent_hmac(domain: bytes, value: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), domain + value.encode(), hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("  AmosMarble ", "amosmarble"),
        ("AMOSMARBLE", "amosmarble"),
        ("\tamosmarble\n", "amosmarble"),
        ("ＡｍｏｓＭａｒｂｌｅ", "amosmarble"),  # full-width forms: NFKC
        ("Straße", "STRASSE"),  # case folding, not just lower-casing
    ],
)
def test_user_id_spellings_of_one_user_share_a_pseudonym(spelling, canonical):
    assert hash_user_id(spelling) == hash_user_id(canonical)


def test_different_users_get_different_pseudonyms():
    assert hash_user_id("amosmarble") != hash_user_id("amos.marble")


@pytest.mark.parametrize(
    "spelling",
    [
        "SIP:Amos.Marble@Contoso.com",
        "sip:amos.marble@contoso.com",
        " amos.marble@CONTOSO.com ",
        "Sip:AMOS.marble@contoso.com",
    ],
)
def test_sip_uri_spellings_of_one_address_share_a_pseudonym(spelling):
    assert hash_sip_uri(spelling) == hash_sip_uri("amos.marble@contoso.com")


def test_only_a_leading_sip_scheme_is_removed():
    assert hash_sip_uri("amos.sip:marble@contoso.com") != hash_sip_uri("amos.marble@contoso.com")
    assert hash_sip_uri("sips:amos.marble@contoso.com") != hash_sip_uri("amos.marble@contoso.com")


def test_the_hashes_equal_an_independently_computed_hmac():
    assert hash_user_id(" AmosMarble ") == independent_hmac(b"user-id\x00", "amosmarble")
    assert hash_sip_uri("SIP:Amos@Contoso.com") == independent_hmac(b"sip-uri\x00", "amos@contoso.com")
    assert hash_census_user_id("ABCDEF0123") == independent_hmac(b"census-user-id\x00", "abcdef0123")
    # Keyed: not the plain hash that anyone could compute from a guessed user name.
    assert hash_user_id("amosmarble") != hashlib.sha256(b"amosmarble").hexdigest()


def test_the_three_kinds_are_hashed_in_separate_domains():
    value = "amos.marble@contoso.com"
    pseudonyms = {hash_user_id(value), hash_sip_uri(value), hash_census_user_id(value)}
    assert len(pseudonyms) == 3


def test_a_different_key_gives_a_different_pseudonym(settings):
    before = hash_user_id("amosmarble")
    assert hash_user_id("amosmarble", key="another-key") == independent_hmac(
        b"user-id\x00", "amosmarble", "another-key"
    )
    assert hash_user_id("amosmarble", key="another-key") != before
    settings.TELEMETRY_HASH_KEY = "rotated-key"
    assert hash_user_id("amosmarble") != before
    assert hash_census_user_id("abc") == independent_hmac(b"census-user-id\x00", "abc", "rotated-key")


@pytest.mark.parametrize(
    ("pseudonymize", "domain", "value"),
    [
        (hash_user_id, b"user-id\x00", "amosmarble"),
        (hash_sip_uri, b"sip-uri\x00", "amos.marble@contoso.com"),
        (hash_census_user_id, b"census-user-id\x00", "e296d735-4f36-4e18-7c3b-52e1a02a0164"),
    ],
)
def test_a_pseudonym_is_64_lowercase_hex_digits_of_the_keyed_hash(pseudonymize, domain, value):
    pseudonym = pseudonymize(value)
    assert re.fullmatch(r"[0-9a-f]{64}", pseudonym)
    assert pseudonym == independent_hmac(domain, value)


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        (" 198.51.100.255 ", "198.51.100.0/24"),
        ("10.0.0.1", "10.0.0.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::/48"),
        ("2001:DB8:ABCD:FFFF::1", "2001:db8:abcd::/48"),
        ("::1", "::/48"),
        ("::ffff:203.0.113.7", "203.0.113.0/24"),  # IPv4-mapped counts as IPv4
        ("fe80::1%eth0", "fe80::/48"),
    ],
)
def test_truncate_ip_keeps_only_the_network(address, network):
    assert truncate_ip(address) == network


@pytest.mark.parametrize(
    "address", ["", "not-an-ip", "999.1.1.1", "203.0.113", "10.0.0.0/8", "2001:db8::g", "1.2.3.4.5"]
)
def test_truncate_ip_rejects_what_is_not_an_address(address):
    with pytest.raises(ValueError):  # noqa: PT011 (ipaddress raises a plain ValueError)
        truncate_ip(address)


def test_mask_pseudonym():
    pseudonym = hash_user_id("amosmarble")
    assert mask_pseudonym(pseudonym) == pseudonym[:8] + "…"
    assert mask_pseudonym("") == ""

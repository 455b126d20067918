"""Keyed pseudonyms and IP truncation (README, "Pseudonymization rules")."""

import hashlib
import hmac
import re

import pytest

from telemetry.pseudonymize import (
    BatchHasher,
    hash_census_user_id,
    hash_sip_uri,
    hash_user_id,
    known_keys,
    mask_pseudonym,
    pseudonym_hash,
    truncate_ip,
    user_pseudonyms,
)

KEY = "an-independent-test-key"
TENANT = 7
OTHER_TENANT = 8


@pytest.fixture(autouse=True)
def _hash_key(settings):
    settings.TELEMETRY_HASH_KEY = KEY
    settings.TELEMETRY_PREVIOUS_HASH_KEYS = []


def independent_key_id(key: str = KEY) -> str:
    return hmac.new(key.encode(), b"key-id\x00", hashlib.sha256).hexdigest()[:6]


def independent_hmac(domain: bytes, value: str, key: str = KEY, tenant_id: int | None = TENANT) -> str:
    """The pseudonym computed here from the README's rules, not by the code under test."""
    secret = key.encode()
    if tenant_id is not None:
        secret = hmac.new(secret, b"tenant-key\x00" + str(tenant_id).encode(), hashlib.sha256).digest()
    return f"{independent_key_id(key)}:{hmac.new(secret, domain + value.encode(), hashlib.sha256).hexdigest()}"


def user(value: str, **kwargs) -> str:
    return hash_user_id(value, tenant_id=TENANT, **kwargs)


def sip(value: str, **kwargs) -> str:
    return hash_sip_uri(value, tenant_id=TENANT, **kwargs)


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
    assert user(spelling) == user(canonical)


def test_different_users_get_different_pseudonyms():
    assert user("amosmarble") != user("amos.marble")


def test_the_same_user_in_two_tenants_gets_unrelated_pseudonyms():
    here, there = user("amosmarble"), hash_user_id("amosmarble", tenant_id=OTHER_TENANT)
    assert here != there
    assert pseudonym_hash(here)[:8] != pseudonym_hash(there)[:8]
    assert sip("sip:amos@contoso.com") != hash_sip_uri("sip:amos@contoso.com", tenant_id=OTHER_TENANT)


@pytest.mark.parametrize(
    "spelling",
    [
        "SIP:Amos.Marble@Contoso.com",
        "sip:amos.marble@contoso.com",
        " amos.marble@CONTOSO.com ",
        "Sip:AMOS.marble@contoso.com",
        "sips:amos.marble@contoso.com",  # SIPS is the same address, reached over TLS
    ],
)
def test_sip_uri_spellings_of_one_address_share_a_pseudonym(spelling):
    assert sip(spelling) == sip("amos.marble@contoso.com")


def test_only_a_leading_sip_scheme_is_removed():
    assert sip("amos.sip:marble@contoso.com") != sip("amos.marble@contoso.com")


def test_the_hashes_equal_an_independently_computed_hmac():
    assert user(" AmosMarble ") == independent_hmac(b"user-id\x00", "amosmarble")
    assert sip("SIP:Amos@Contoso.com") == independent_hmac(b"sip-uri\x00", "amos@contoso.com")
    # Census names no tenant: its pseudonyms are installation-wide.
    assert hash_census_user_id("ABCDEF0123") == independent_hmac(b"census-user-id\x00", "abcdef0123", tenant_id=None)
    # Keyed: not the plain hash that anyone could compute from a guessed user name.
    assert pseudonym_hash(user("amosmarble")) != hashlib.sha256(b"amosmarble").hexdigest()


def test_the_three_kinds_are_hashed_in_separate_domains():
    value = "amos.marble@contoso.com"
    pseudonyms = {user(value), sip(value), hash_census_user_id(value)}
    assert len(pseudonyms) == 3


def test_a_rotated_key_makes_new_pseudonyms_and_still_finds_the_old_ones(settings):
    before = user("amosmarble")
    settings.TELEMETRY_HASH_KEY = "rotated-key"
    settings.TELEMETRY_PREVIOUS_HASH_KEYS = [KEY]

    after = user("amosmarble")
    assert after == independent_hmac(b"user-id\x00", "amosmarble", "rotated-key")
    assert after.split(":")[0] == independent_key_id("rotated-key") != before.split(":")[0]
    # New records use the new key; look-ups find both until the old records expire.
    assert user_pseudonyms("amosmarble", tenant_id=TENANT) == [after, before]
    assert [key.id for key in known_keys()] == [independent_key_id("rotated-key"), independent_key_id(KEY)]
    assert hash_census_user_id("abc") == independent_hmac(b"census-user-id\x00", "abc", "rotated-key", None)


@pytest.mark.parametrize(
    ("pseudonymize", "domain", "value", "tenant_id"),
    [
        (user, b"user-id\x00", "amosmarble", TENANT),
        (sip, b"sip-uri\x00", "amos.marble@contoso.com", TENANT),
        (hash_census_user_id, b"census-user-id\x00", "e296d735-4f36-4e18-7c3b-52e1a02a0164", None),
    ],
)
def test_a_pseudonym_is_its_key_id_and_64_lowercase_hex_digits_of_the_keyed_hash(
    pseudonymize, domain, value, tenant_id
):
    pseudonym = pseudonymize(value)
    assert re.fullmatch(r"[0-9a-f]{6}:[0-9a-f]{64}", pseudonym)
    assert pseudonym == independent_hmac(domain, value, tenant_id=tenant_id)


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
        ("2002:cb00:7107::1", "203.0.113.0/24"),  # 6to4 carries 203.0.113.7 in bits 16-48
        ("2002:cb00:7107:abcd::1", "203.0.113.0/24"),
        ("2001:0:4136:e378:8000:63bf:34ff:fff8", "203.0.0.0/24"),  # Teredo: the client 203.0.0.7, not the server
        ("64:ff9b::203.0.113.7", "203.0.113.0/24"),  # NAT64 well-known prefix
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
    pseudonym = user("amosmarble")
    assert mask_pseudonym(pseudonym) == pseudonym_hash(pseudonym)[:8] + "…"
    assert pseudonym.split(":")[0] not in mask_pseudonym(pseudonym)
    assert mask_pseudonym("") == ""


@pytest.mark.parametrize("key", ["", "k", "x" * 64, "y" * 65, "z" * 300, "ключ"])
@pytest.mark.parametrize("value", ["", "amosmarble", "É" * 200])
def test_the_prepared_hmac_equals_the_standard_one_for_any_key_length(settings, key, value):
    settings.TELEMETRY_HASH_KEY = key

    assert hash_census_user_id(value) == independent_hmac(b"census-user-id\x00", value.casefold(), key, None)
    assert hash_user_id(value, tenant_id=TENANT) == independent_hmac(b"user-id\x00", value.casefold(), key)


def test_a_batch_hasher_gives_the_pseudonyms_of_the_functions_for_its_tenant_only(settings):
    settings.TELEMETRY_HASH_KEY = "the-new-key"
    settings.TELEMETRY_PREVIOUS_HASH_KEYS = [KEY]
    hasher = BatchHasher(tenant_id=TENANT)

    for _ in range(2):  # the second time from its memory
        assert hasher.user_pseudonyms(" AmosMarble ") == tuple(user_pseudonyms("amosmarble", tenant_id=TENANT))
        assert hasher.sip_uri("SIP:Amos@Contoso.com") == hash_sip_uri("amos@contoso.com", tenant_id=TENANT)
        assert hasher.census_user_id("E296D735") == hash_census_user_id("e296d735")
    assert len(hasher.user_pseudonyms("amosmarble")) == 2
    assert (
        hasher.user_pseudonyms("amosmarble")[0] != BatchHasher(tenant_id=OTHER_TENANT).user_pseudonyms("amosmarble")[0]
    )
    assert hasher.sip_uri("amos@contoso.com") != BatchHasher(tenant_id=OTHER_TENANT).sip_uri("amos@contoso.com")

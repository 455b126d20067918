"""The hot path's shortcuts give the answers of the general code they skip: the fast IPv4 truncation,
the ASCII normalization of identifiers, and free text scrubbed only where it could hold something."""

import ipaddress
import unicodedata
import uuid
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry import pseudonymize, scrub
from telemetry.pseudonymize import embedded_ipv4, normalize_user_id, truncate_ip
from telemetry.services import _random_uuids


def general_truncation(address: str) -> str:
    """truncate_ip without its IPv4 shortcut: ipaddress decides everything."""
    ip = ipaddress.ip_address(address.strip())
    if isinstance(ip, ipaddress.IPv6Address):
        ip = embedded_ipv4(ip) or ip
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def outcome(function, value):
    try:
        return function(value)
    except ValueError:
        return ValueError


octets = st.sampled_from(["0", "00", "7", "09", "10", "99", "100", "199", "249", "250", "255", "256", "1000", "a", ""])
dotted = st.lists(octets, min_size=3, max_size=5).map(".".join)
addresses = st.one_of(
    dotted,
    dotted.map(lambda text: f" {text}\n"),
    st.ip_addresses().map(str),
    st.sampled_from(
        ["::ffff:203.0.113.7", "2002:cb00:7107::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "64:ff9b::cb00:7107"]
    ),
    st.sampled_from(["١٢.0.0.1", "1.2.3.4/24", "1.2.3.4 5", "01.2.3.4"]),
    st.text(alphabet="0123456789.:abcdef ", max_size=20),
)


@settings(max_examples=600)
@given(address=addresses)
def test_the_ipv4_shortcut_truncates_as_ipaddress_does(address):
    assert outcome(truncate_ip, address) == outcome(general_truncation, address)


def test_the_ipv4_shortcut_is_taken_for_a_plain_address():
    with mock.patch.object(pseudonymize.ipaddress, "ip_address", side_effect=AssertionError("not a shortcut")):
        assert truncate_ip(" 203.0.113.77 ") == "203.0.113.0/24"


@given(user_id=st.text(max_size=30))
def test_an_ascii_user_id_is_normalized_as_nfkc_and_case_folding_would(user_id):
    assert normalize_user_id(user_id) == unicodedata.normalize("NFKC", user_id).strip().casefold()


# Free text made of the pieces scrubbing looks for, and of what resembles them.
pieces = st.sampled_from(
    [
        "amosmarble",
        "AmosMarble",
        "ＡｍｏｓＭａｒｂｌｅ",
        "sip:amos.marble@contoso.com",
        "SIPS:Someone@Fabrikam.com",
        "amos.marble@contoso.com",
        "203.0.113.7",
        "２０３.0.113.7",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "12:30:45",
        "Foo::Bad",
        "v1.2.3",
        "1.2",
        "stack trace line",
        "ß",
        "ı",
        "K",
        " ",
        "\n",
        ".",
        ":",
        "@",
        ";",
        "=",
    ]
)
texts = st.one_of(st.lists(pieces, max_size=12).map("".join), st.text(max_size=40))
user_ids = st.sampled_from(["amosmarble", "AmosMarble", "ab", "straße", "kelvin", "ıbrahim", "Amos Marble", ""])


@settings(max_examples=400)
@given(text=texts, user_id=user_ids)
def test_scrubbing_only_where_a_text_could_hold_something_misses_nothing(text, user_id):
    shortcut = scrub.scrub_texts([text], tenant_id=7, user_id=user_id or None)

    with (
        mock.patch.object(scrub, "_may_hold_identifiers", return_value=True),
        mock.patch.object(scrub._Scrubber, "_may_hold_user", lambda self, text: self.searches_user),
    ):
        everywhere = scrub.scrub_texts([text], tenant_id=7, user_id=user_id or None)

    assert shortcut == everywhere


def test_census_ids_made_in_bulk_are_random_version_4_uuids():
    ids = _random_uuids(500)

    assert len(set(ids)) == 500
    assert {(value.version, value.variant) for value in ids} == {(4, uuid.RFC_4122)}

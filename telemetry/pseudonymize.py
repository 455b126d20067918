"""Keyed pseudonyms for identifiers, and the truncation of IP addresses.

Every identifier that names a person is stored only as HMAC-SHA256 under TELEMETRY_HASH_KEY: user
names and addresses are few enough to guess, so a plain hash would be reversible by brute force.

Normalization, so that one person gets one pseudonym however the client spelled them:
- user ID: Unicode NFKC, surrounding white space removed, case folded
  ("  AmosMarble " and "amosmarble" are the same user);
- SIP URI: the same, and a leading "sip:" scheme removed
  ("SIP:Amos.Marble@Contoso.com" and "amos.marble@contoso.com" are the same address);
- census user ID (already hashed once by the client): the same as a user ID, then hashed again.

Each kind of identifier is hashed in its own domain (a prefix inside the HMAC), so a census pseudonym
can never be joined to the pseudonym of the same user in an error report.
"""

import hashlib
import hmac
import ipaddress
import unicodedata

from django.conf import settings

USER_DOMAIN = b"user-id\x00"
SIP_DOMAIN = b"sip-uri\x00"
CENSUS_DOMAIN = b"census-user-id\x00"

IPV4_PREFIX = 24
IPV6_PREFIX = 48


def normalize_user_id(user_id: str) -> str:
    return unicodedata.normalize("NFKC", user_id).strip().casefold()


def normalize_sip_uri(sip_uri: str) -> str:
    value = normalize_user_id(sip_uri)
    if value.startswith("sip:"):
        value = value[len("sip:") :]
    return value


def _keyed_hash(domain: bytes, value: str, *, key: str | None = None) -> str:
    secret = (key if key is not None else settings.TELEMETRY_HASH_KEY).encode()
    return hmac.new(secret, domain + value.encode(), hashlib.sha256).hexdigest()


def hash_user_id(user_id: str, *, key: str | None = None) -> str:
    """The pseudonym of a user: the key of the end-user directory and of error reports."""
    return _keyed_hash(USER_DOMAIN, normalize_user_id(user_id), key=key)


def hash_sip_uri(sip_uri: str, *, key: str | None = None) -> str:
    return _keyed_hash(SIP_DOMAIN, normalize_sip_uri(sip_uri), key=key)


def hash_census_user_id(client_hashed_user_id: str, *, key: str | None = None) -> str:
    """The service's second hash of the census user ID the client already hashed once."""
    return _keyed_hash(CENSUS_DOMAIN, normalize_user_id(client_hashed_user_id), key=key)


def truncate_ip(address: str) -> str:
    """The network an address belongs to: /24 for IPv4, /48 for IPv6. ValueError if not an address.

    An IPv4-mapped IPv6 address (::ffff:203.0.113.7) is an IPv4 address and is truncated as one.
    """
    ip = ipaddress.ip_address(address.strip())
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def mask_pseudonym(value: str) -> str:
    """How a pseudonym is shown to people: enough to compare two rows, not the whole hash."""
    return f"{value[:8]}…" if value else ""

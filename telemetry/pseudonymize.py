"""Keyed pseudonyms for identifiers, and the truncation of IP addresses.

Every identifier that names a person is stored only as HMAC-SHA256: user names and addresses are few
enough to guess, so a plain hash would be reversible by brute force.

- **Per tenant.** A tenant's identifiers are hashed under a key derived from TELEMETRY_HASH_KEY and the
  tenant, so the same user ID in two organizations gives two unrelated pseudonyms and nobody, support
  staff included, can link a person across them. Census pseudonyms name no tenant and stay
  installation-wide.
- **With a key id.** A pseudonym reads `<key id>:<64 hex digits>`. The key id is derived from the
  secret itself, so it needs no configuration. To rotate, an operator sets a new TELEMETRY_HASH_KEY and
  moves the old one to TELEMETRY_PREVIOUS_HASH_KEYS: new records use the new key, and the portal still
  finds what the old keys made (typed-ID look-ups, opt-ins, erasure) until those records expire.

Normalization, so that one person gets one pseudonym however the client spelled them:
- user ID: Unicode NFKC, surrounding white space removed, case folded
  ("  AmosMarble " and "amosmarble" are the same user);
- SIP URI and e-mail address: the same, and a leading "sip:"/"sips:" scheme removed
  ("SIP:Amos.Marble@Contoso.com" and "amos.marble@contoso.com" are the same address);
- census user ID (already hashed once by the client): the same as a user ID, then hashed again.

Each kind of identifier is hashed in its own domain (a prefix inside the HMAC), so a census pseudonym
can never be joined to the pseudonym of the same user in an error report.

Part of the ground floor (tests/test_architecture.py).
"""

import functools
import hashlib
import hmac
import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from django.conf import settings

USER_DOMAIN = b"user-id\x00"
SIP_DOMAIN = b"sip-uri\x00"
CENSUS_DOMAIN = b"census-user-id\x00"
TENANT_KEY_DOMAIN = b"tenant-key\x00"
KEY_ID_DOMAIN = b"key-id\x00"

KEY_ID_LENGTH = 6
# "<key id>:<sha256 hex>": the longest pseudonym a column must hold.
PSEUDONYM_LENGTH = KEY_ID_LENGTH + 1 + 64
# One or more pseudonyms of one person (one per hash key still in use), comma-separated, as the find-user
# filter and the erasure confirmation carry them: "<key id>:<hash>,<key id>:<hash>".
_ONE_PSEUDONYM = rf"[0-9a-f]{{{KEY_ID_LENGTH}}}:[0-9a-f]{{64}}"
PSEUDONYMS_RE = re.compile(rf"^{_ONE_PSEUDONYM}(?:,{_ONE_PSEUDONYM})*$")
# How much of a pseudonym's hash people are shown (and an erasure receipt records).
SHOWN_HASH_LENGTH = 8

IPV4_PREFIX = 24
IPV6_PREFIX = 48
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# A dotted IPv4 address exactly as ipaddress reads one: four decimal octets of ASCII digits, 0 to 255,
# no leading zero.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
DOTTED_IPV4_RE = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


@dataclass(frozen=True)
class HashKey:
    id: str
    secret: bytes


@functools.cache
def _hash_key(secret: str) -> HashKey:
    raw = secret.encode()
    return HashKey(id=hmac.new(raw, KEY_ID_DOMAIN, hashlib.sha256).hexdigest()[:KEY_ID_LENGTH], secret=raw)


def current_key() -> HashKey:
    return _hash_key(settings.TELEMETRY_HASH_KEY)


def known_keys() -> list[HashKey]:
    """The current key first, then the previous ones whose pseudonyms may still be stored."""
    return list(_known_keys(settings.TELEMETRY_HASH_KEY, tuple(getattr(settings, "TELEMETRY_PREVIOUS_HASH_KEYS", ()))))


@functools.lru_cache(maxsize=16)
def _known_keys(current: str, previous: tuple[str, ...]) -> tuple[HashKey, ...]:
    # Keyed by the settings' values, so a changed setting (a rotation, a test) is never served stale.
    key = _hash_key(current)
    return (key, *(other for other in map(_hash_key, previous) if other.id != key.id))


@functools.lru_cache(maxsize=4096)
def _tenant_secret(key: HashKey, tenant_id: int) -> bytes:
    return hmac.digest(key.secret, TENANT_KEY_DOMAIN + str(tenant_id).encode(), "sha256")


def normalize_user_id(user_id: str) -> str:
    if user_id.isascii():  # NFKC leaves ASCII as it is, and casefold() is lower() there: the common case
        return user_id.strip().lower()
    return unicodedata.normalize("NFKC", user_id).strip().casefold()


def normalize_sip_uri(sip_uri: str) -> str:
    value = normalize_user_id(sip_uri)
    for scheme in ("sip:", "sips:"):
        if value.startswith(scheme):
            return value[len(scheme) :]
    return value


class _DomainHmac:
    """HMAC-SHA256 under one secret, of messages that all start with one domain prefix: the standard
    library's HMAC object, keyed and fed the prefix once, then copied per message. The same digests as
    hmac.digest at about two thirds of its cost (hmac.digest asks OpenSSL for SHA-256 anew per call, and
    the hot path hashes hundreds of identifiers per batch)."""

    def __init__(self, secret: bytes, domain: bytes):
        self._keyed = hmac.new(secret, domain, hashlib.sha256)

    def hexdigest(self, message: bytes) -> str:
        mac = self._keyed.copy()
        mac.update(message)
        return mac.hexdigest()


@functools.lru_cache(maxsize=4096)
def _domain_hmac(secret: bytes, domain: bytes) -> _DomainHmac:
    return _DomainHmac(secret, domain)


def _pseudonym(secret: bytes, key: HashKey, domain: bytes, value: str) -> str:
    return f"{key.id}:{_domain_hmac(secret, domain).hexdigest(value.encode())}"


def hash_user_id(user_id: str, *, tenant_id: int, key: HashKey | None = None) -> str:
    """The pseudonym of a tenant's user: the key of the end-user directory and of error reports."""
    key = key or current_key()
    return _pseudonym(_tenant_secret(key, tenant_id), key, USER_DOMAIN, normalize_user_id(user_id))


def hash_sip_uri(sip_uri: str, *, tenant_id: int, key: HashKey | None = None) -> str:
    """The pseudonym of a SIP URI (or an e-mail address: the same address without its scheme)."""
    key = key or current_key()
    return _pseudonym(_tenant_secret(key, tenant_id), key, SIP_DOMAIN, normalize_sip_uri(sip_uri))


def user_pseudonyms(user_id: str, *, tenant_id: int) -> list[str]:
    """Every pseudonym the user may be stored under: one per known key, the current key's first."""
    return [hash_user_id(user_id, tenant_id=tenant_id, key=key) for key in known_keys()]


def hash_census_user_id(client_hashed_user_id: str, *, key: HashKey | None = None) -> str:
    """The service's second hash of the census user ID the client already hashed once (no tenant)."""
    key = key or current_key()
    return _pseudonym(key.secret, key, CENSUS_DOMAIN, normalize_user_id(client_hashed_user_id))


class BatchHasher:
    """The pseudonyms one batch of a tenant needs, the same as hash_user_id, user_pseudonyms, hash_sip_uri
    and hash_census_user_id give: the keys read and each HMAC prepared once, then each identifier
    hashed once (a batch repeats its users)."""

    def __init__(self, *, tenant_id: int):
        keys = known_keys()
        current = keys[0]
        self._users = [(key.id, _domain_hmac(_tenant_secret(key, tenant_id), USER_DOMAIN)) for key in keys]
        self._sip = _domain_hmac(_tenant_secret(current, tenant_id), SIP_DOMAIN)
        self._census = _domain_hmac(current.secret, CENSUS_DOMAIN)
        self._key_id = current.id
        self._user_pseudonyms: dict[str, tuple[str, ...]] = {}
        self._sip_uris: dict[str, str] = {}
        self._census_ids: dict[str, str] = {}

    def user_pseudonyms(self, user_id: str) -> tuple[str, ...]:
        """Every pseudonym of a user, the current key's first (user_pseudonyms)."""
        pseudonyms = self._user_pseudonyms.get(user_id)
        if pseudonyms is None:
            value = normalize_user_id(user_id).encode()
            pseudonyms = tuple(f"{key_id}:{hmac_.hexdigest(value)}" for key_id, hmac_ in self._users)
            self._user_pseudonyms[user_id] = pseudonyms
        return pseudonyms

    def sip_uri(self, sip_uri: str) -> str:
        """hash_sip_uri under the current key."""
        pseudonym = self._sip_uris.get(sip_uri)
        if pseudonym is None:
            value = normalize_sip_uri(sip_uri).encode()
            pseudonym = self._sip_uris[sip_uri] = f"{self._key_id}:{self._sip.hexdigest(value)}"
        return pseudonym

    def census_user_id(self, client_hashed_user_id: str) -> str:
        """hash_census_user_id under the current key."""
        pseudonym = self._census_ids.get(client_hashed_user_id)
        if pseudonym is None:
            value = normalize_user_id(client_hashed_user_id).encode()
            pseudonym = f"{self._key_id}:{self._census.hexdigest(value)}"
            self._census_ids[client_hashed_user_id] = pseudonym
        return pseudonym


def pseudonym_hash(value: str) -> str:
    """The hash of a pseudonym, without its key id."""
    return value.rpartition(":")[2]


def mask_pseudonym(value: str) -> str:
    """How a pseudonym is shown to people: enough to compare two rows, not the whole hash."""
    return f"{pseudonym_hash(value)[:SHOWN_HASH_LENGTH]}…" if value else ""


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries: IPv4-mapped, 6to4, Teredo (the client's), NAT64."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def truncate_ip(address: str) -> str:
    """The network an address belongs to: /24 for IPv4, /48 for IPv6. ValueError if not an address.

    An IPv6 address that carries an IPv4 address (IPv4-mapped, 6to4, Teredo, NAT64) is truncated as that
    IPv4 address: its /48 would still hold the whole IPv4 address.
    """
    address = address.strip()
    dotted = DOTTED_IPV4_RE.fullmatch(address)
    if dotted is not None:  # the common case, without ipaddress's objects: the same answer, cheaper
        return f"{dotted[1]}.{dotted[2]}.{dotted[3]}.0/{IPV4_PREFIX}"
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        ip = embedded_ipv4(ip) or ip
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))

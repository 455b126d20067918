"""How the portal spells names: tenant slugs and domain names (pool FQDNs, tenant domains, federation
partners). Part of the ground floor (tests/test_architecture.py)."""

import re

# The longest slug (a DNS label's length, so a slug can name a host).
SLUG_MAX_LENGTH = 63
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FQDN_MAX_LENGTH = 253
FQDN_RE = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))+$")


def is_slug(value: str) -> bool:
    """Lower-case letters, digits and single hyphens, at most SLUG_MAX_LENGTH characters.

    Checked before any query by slug: PostgreSQL refuses some characters (NUL) outright."""
    return len(value) <= SLUG_MAX_LENGTH and SLUG_RE.fullmatch(value) is not None


def fqdn_key(fqdn: str) -> str:
    """How a pool FQDN (or any domain name) is stored and looked up: trimmed, no trailing dot, lower-case."""
    return fqdn.strip().rstrip(".").lower()


def is_fqdn(value: str) -> bool:
    """A fully qualified domain name in its stored form (fqdn_key), like pool01.contoso.com.

    Its last label is not all digits: a top-level domain never is, and 203.0.113.7 is an address."""
    return FQDN_RE.match(value) is not None and not value.rpartition(".")[2].isdigit()

"""Free text is personal data too (domain.md, "Personal data").

An error report's free-text fields may quote the very identifiers its structured fields protect. Before
a report is stored, `scrub` finds in a text the record's own user ID, any SIP URI, e-mail address and IP
address, and replaces each with a marker a reader recognizes, keeping the rest of the text:

- `[sip:8be0a1c2]`, `[email:3f9d0b7e]`, `[user:1f3a9c2e]`: the first 8 hex digits of the value's keyed
  pseudonym in the tenant (the same hash the structured fields store), so two mentions of one address
  can still be matched, and nothing can be read back;
- `[ip:203.0.113.0/24]`: the truncated network, as the structured field stores it.

The text is first normalized to Unicode NFKC, so that full-width or otherwise compatible spellings of an
identifier are found too; the user ID is matched case-insensitively and wherever it stands between two
characters that are not letters or digits (`user=amosmarble;`, `AmosMarble@contoso.com`).

Part of the ground floor (tests/test_architecture.py): pure, no database.
"""

import ipaddress
import re
import unicodedata
from dataclasses import dataclass

from telemetry.pseudonymize import (
    SHOWN_HASH_LENGTH,
    hash_sip_uri,
    hash_user_id,
    normalize_user_id,
    pseudonym_hash,
    truncate_ip,
)

# One pattern, one pass: a replacement is never scanned again (a marker holds an address too), and at
# any position the first alternative that matches wins (a SIP URI before the e-mail address inside it).
_SIP = r"(?P<sip>\bsips?:[^\s<>\"'()\[\],;]+)"
_EMAIL = r"(?P<email>[\w.+%-]+@[\w-]+(?:\.[\w-]+)+)"
# IPv6 candidates: hex groups and colons, perhaps a dotted IPv4 tail; ipaddress decides. A sentence's
# final period is not part of an address.
_IPV6 = (
    r"(?P<ipv6>(?<![0-9A-Fa-f:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{0,4})"
    r"(?![0-9A-Fa-f:]|\.\d))"
)
_IPV4 = r"(?P<ipv4>(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?!\d|\.\d))"
IDENTIFIERS = f"{_SIP}|{_EMAIL}|{_IPV6}|{_IPV4}"
IDENTIFIERS_RE = re.compile(IDENTIFIERS, re.IGNORECASE)
# A user ID shorter than this is not searched for in free text: it would match inside ordinary words.
MIN_USER_ID_LENGTH = 3


@dataclass(frozen=True)
class Scrubbed:
    text: str
    replaced: int


def _marker(kind: str, pseudonym: str) -> str:
    return f"[{kind}:{pseudonym_hash(pseudonym)[:SHOWN_HASH_LENGTH]}]"


def _ip_marker(match: re.Match) -> str | None:
    try:
        ip = ipaddress.ip_address(match.group(0))
    except ValueError:
        return None
    # "Foo::Bad" and "12:30:45" are not addresses people wrote: an IPv6 address in a log has a digit.
    if isinstance(ip, ipaddress.IPv6Address) and not any(char.isdigit() for char in match.group(0)):
        return None
    return f"[ip:{truncate_ip(str(ip))}]"


class _Scrubber:
    def __init__(self, *, tenant_id: int, user_id: str | None):
        self.tenant_id = tenant_id
        self.replaced = 0
        self.pattern = IDENTIFIERS_RE
        normalized = normalize_user_id(user_id) if user_id else ""
        if len(normalized) >= MIN_USER_ID_LENGTH:
            self.user_marker = _marker("user", hash_user_id(normalized, tenant_id=tenant_id))
            # Case-folded and as sent (NFKC): case folding turns "ß" into "ss", which IGNORECASE does not.
            spellings = sorted({normalized, unicodedata.normalize("NFKC", user_id).strip()}, key=len, reverse=True)
            alternatives = "|".join(re.escape(spelling) for spelling in spellings)
            user = rf"(?P<user>(?<![^\W_])(?:{alternatives})(?![^\W_]))"
            self.pattern = re.compile(f"{IDENTIFIERS}|{user}", re.IGNORECASE)

    def _replace(self, match: re.Match) -> str:
        kind = match.lastgroup
        value = match.group(0)
        if kind in ("sip", "email"):
            marker = _marker(kind, hash_sip_uri(value, tenant_id=self.tenant_id))
        elif kind in ("ipv6", "ipv4"):
            marker = _ip_marker(match)
            if marker is None:
                return value
        else:
            marker = self.user_marker
        self.replaced += 1
        return marker

    def scrub(self, text: str) -> str:
        if not text:
            return text
        return self.pattern.sub(self._replace, unicodedata.normalize("NFKC", text))


def scrub_texts(texts: list[str], *, tenant_id: int, user_id: str | None) -> tuple[list[str], int]:
    """Each text scrubbed, and how many values were replaced in all."""
    scrubber = _Scrubber(tenant_id=tenant_id, user_id=user_id)
    scrubbed = [scrubber.scrub(text) for text in texts]
    return scrubbed, scrubber.replaced


def scrub(text: str, *, tenant_id: int, user_id: str | None) -> Scrubbed:
    """One text scrubbed, and how many values were replaced."""
    (scrubbed,), replaced = scrub_texts([text], tenant_id=tenant_id, user_id=user_id)
    return Scrubbed(text=scrubbed, replaced=replaced)

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

import functools
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


@functools.lru_cache(maxsize=4096)
def _user_pattern(spellings: tuple[str, ...]) -> re.Pattern:
    """A user ID wherever it stands between two characters that are not letters or digits. Small, so
    cheap to compile once per user; cached, as a tenant's users come back batch after batch."""
    alternatives = "|".join(re.escape(spelling) for spelling in spellings)
    return re.compile(rf"(?<![^\W_])(?:{alternatives})(?![^\W_])", re.IGNORECASE)


# Where a text holds none of these, IDENTIFIERS_RE cannot match in it: a SIP URI and an IPv6 address
# hold a colon, an e-mail address an at sign, an IPv4 address a digit, a period and a digit. Looking for
# them costs a fraction of the pattern's scan, and most free text (a stack trace) holds none.
_IPV4_HINT = re.compile(r"\d\.\d")


def _may_hold_identifiers(text: str) -> bool:
    return ":" in text or "@" in text or ("." in text and _IPV4_HINT.search(text) is not None)


class _Scrubber:
    def __init__(self, *, tenant_id: int, user_id: str | None, user_pseudonym: str | None = None):
        self.tenant_id = tenant_id
        self.replaced = 0
        self.user_id = user_id
        self.user_pseudonym = user_pseudonym
        self.normalized = normalize_user_id(user_id) if user_id else ""
        self.searches_user = len(self.normalized) >= MIN_USER_ID_LENGTH
        # An ASCII user ID is in an ASCII text only where the text, lower-cased, holds it (IGNORECASE
        # matches no other spelling there): a substring test saves compiling and running the pattern.
        self.ascii_user = self.searches_user and user_id.isascii()
        self._user_pattern = None

    @property
    def user_pattern(self) -> re.Pattern:
        if self._user_pattern is None:
            pseudonym = self.user_pseudonym or hash_user_id(self.normalized, tenant_id=self.tenant_id)
            self.user_marker = _marker("user", pseudonym)
            # Case-folded and as sent (NFKC): case folding turns "ß" into "ss", which IGNORECASE does not.
            spellings = {self.normalized, unicodedata.normalize("NFKC", self.user_id).strip()}
            self._user_pattern = _user_pattern(tuple(sorted(spellings, key=len, reverse=True)))
        return self._user_pattern

    def _may_hold_user(self, text: str) -> bool:
        if not self.searches_user:
            return False
        if self.ascii_user and text.isascii():
            return self.normalized in text.lower()
        return True

    def _replace(self, match: re.Match) -> str:
        kind = match.lastgroup  # None for a match of the user pattern
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
        """One pass, leftmost first: where an identifier and the user ID start together, the identifier
        (it holds the user ID); what a replacement covers is never looked at again."""
        if not text:
            return text
        if not text.isascii():  # NFKC leaves ASCII as it is
            text = unicodedata.normalize("NFKC", text)
        found = []
        if _may_hold_identifiers(text):
            found = [(match.start(), 0, match) for match in IDENTIFIERS_RE.finditer(text)]
        if self._may_hold_user(text):
            found += [(match.start(), 1, match) for match in self.user_pattern.finditer(text)]
            found.sort(key=lambda item: item[:2])
        if not found:
            return text
        parts, position = [], 0
        for start, _, match in found:
            if start < position:
                continue  # inside a value already replaced
            parts += [text[position:start], self._replace(match)]
            position = match.end()
        parts.append(text[position:])
        return "".join(parts)


def scrub_texts(
    texts: list[str], *, tenant_id: int, user_id: str | None, user_pseudonym: str | None = None
) -> tuple[list[str], int]:
    """Each text scrubbed, and how many values were replaced in all. `user_pseudonym`, when the caller
    has it already, is the user's pseudonym in the tenant under the current key (saves a hash)."""
    scrubber = _Scrubber(tenant_id=tenant_id, user_id=user_id, user_pseudonym=user_pseudonym)
    scrubbed = [scrubber.scrub(text) for text in texts]
    return scrubbed, scrubber.replaced


def scrub(text: str, *, tenant_id: int, user_id: str | None) -> Scrubbed:
    """One text scrubbed, and how many values were replaced."""
    (scrubbed,), replaced = scrub_texts([text], tenant_id=tenant_id, user_id=user_id)
    return Scrubbed(text=scrubbed, replaced=replaced)

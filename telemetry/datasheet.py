"""The data sheet of one tenant (lifecycle.md, "The data sheet").

What a privacy officer attaches to a data protection impact assessment: every field a client may send,
per category, with an example, whether and how it is stored, who can see it, how long it is kept and
which policy governs its collection, with the tenant's current settings.

It cannot drift from what the portal does, because it is walked, not written:

- the fields are those of the request models (`telemetry.schemas.RECORD_MODELS`, their `model_fields`),
  the very models that validate records;
- `DECLARATIONS` says, per category and field, its example and how it is stored, and in which columns
  of the record table (`telemetry.records`: CENSUS_COLUMNS, USAGE_COLUMNS, ERROR_COLUMNS);
  `declaration_problems()` names every request field without a declaration, every declaration of a
  field that no longer exists and every stored column that nothing accounts for, and `datasheet_for`
  refuses to build a sheet while there is one (tests/dashboard/test_datasheet.py holds them to none);
- stored examples are computed by the code that stores (`truncate_ip`, `scrub`); retention comes from
  the tenant's fields and the installation's census setting; the policy sentences from
  `telemetry.policy`.

The sheet is built in the active language (the request's): its sentences, labels and the CSV's headers
follow it, while keys and codes (`category`, `stored_as`, field and column names, pools, scope identities,
examples) stay as they are, so that a script reads the JSON of every language alike. English is the source.

The JSON export is `DataSheet.model_dump(mode="json")`; its shape (version 1):

    {
      "format": "telemetry-portal.datasheet", "version": 1,
      "generated_at": "<RFC 3339 date-time, UTC>",
      "tenant": {"slug": str, "name": str},
      "settings": {
        "usage_data_collection": bool,            # DisableAutomaticSendTracing False
        "windows_crash_uploads": bool,            # Watson
        "meetings_app_telemetry": [{"pool": str, "enabled": bool, "decided_by": str}],
        "users_opted_in_to_error_reporting": int,
        "erase_error_reports_on_opt_out": bool,
        "summary": [{"setting": str, "value": str}]        # the same, in words
      },
      "retention": {
        "usage_days": int, "error_report_days": int, "census_days": int, "receipt_days": int,
        "summary": [{"data": str, "kept_for": str, "set_by": str}]
      },
      "categories": [{
        "category": "census" | "usage" | "error", "label": str, "notes": [str],
        "retention_days": int, "kept_for": str,
        "visible_to": {"support_staff": str, "tenant_admin": str},
        "governed_by": [{"clients": [str], "setting": str, "current": str, "short": str, "detail": str}],
        "also_stored": [{"column": str, "description": str}],   # columns the portal adds itself
        "fields": [{
          "field": str, "required": bool,
          "example": <JSON value a client sends>, "example_text": str, "example_note": str,
          "stored_as": one of StoredAs's values, "how": str,
          "stored_example": str | null,     # what the row holds for the example, where it is not a secret
          "columns": [str],                 # the stored columns it lands in ([] when not stored)
          "visible_to": {"support_staff": str, "tenant_admin": str},
          "kept_for": str, "retention_days": int | null,
          "governed_by": str                # the category's rules with their current settings, in words
        }]
      }]
    }

`DataSheet.model_json_schema()` is the same shape as a JSON Schema. A change to it is a new version.
"""

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import lazy
from django.utils.translation import gettext, ngettext, ngettext_lazy, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from telemetry.policy import CENSUS_EXPLANATION, MeetingUxSetting, client_policy_summary, decided_by, on_off
from telemetry.pseudonymize import IPV4_PREFIX, IPV6_PREFIX, SHOWN_HASH_LENGTH, truncate_ip
from telemetry.records import CENSUS_COLUMNS, ERROR_COLUMNS, USAGE_COLUMNS, USAGE_COUNTERS
from telemetry.schemas import RECORD_MODELS, USAGE_IDENTIFYING_FIELDS
from telemetry.scrub import scrub
from telemetry.vocabulary import MEETING_CLIENTS, Category, Client
from tenants.models import EndUser, Tenant
from tenants.selectors import pools_with_effective_meeting_ux

FORMAT = "telemetry-portal.datasheet"
VERSION = 1


class StoredAs(StrEnum):
    """How a field a client sends is kept, in the words of the sheet."""

    AS_SENT = "as sent"
    REFERENCE = "reference"
    KEYED_HASH_TENANT = "keyed hash (tenant key)"
    CLIENT_HASH_THEN_KEYED = "client hash, then keyed hash (installation key)"
    TRUNCATED_NETWORK = "truncated network"
    SCRUBBED_TEXT = "scrubbed free text"
    NOT_STORED = "not stored"


PSEUDONYMS = frozenset({StoredAs.KEYED_HASH_TENANT, StoredAs.CLIENT_HASH_THEN_KEYED})

# The values above are codes (the JSON export keeps them); people read these words, in their language.
STORED_AS_WORDS = {
    StoredAs.AS_SENT: pgettext_lazy("stored as", "as sent"),
    StoredAs.REFERENCE: pgettext_lazy("stored as", "reference"),
    StoredAs.KEYED_HASH_TENANT: pgettext_lazy("stored as", "keyed hash (tenant key)"),
    StoredAs.CLIENT_HASH_THEN_KEYED: pgettext_lazy("stored as", "client hash, then keyed hash (installation key)"),
    StoredAs.TRUNCATED_NETWORK: pgettext_lazy("stored as", "truncated network"),
    StoredAs.SCRUBBED_TEXT: pgettext_lazy("stored as", "scrubbed free text"),
    StoredAs.NOT_STORED: pgettext_lazy("stored as", "not stored"),
}


def _interpolated(message, **values):
    """A lazy message whose named placeholders are filled when it is read, in the language active then:
    `%` on a lazy string would translate it at import time, in no one's language."""
    return lazy(lambda: message % values, str)()


@dataclass(frozen=True)
class FieldDeclaration:
    """One request field of one category: an example a client sends and how the portal stores it."""

    example: JsonValue
    stored_as: StoredAs
    # Lazily translated: read in the language of the request that builds the sheet.
    how: str
    # The columns of the category's record table the field lands in (none when it is not stored).
    columns: tuple[str, ...] = ()
    # The tenant's idempotency receipt keeps it (the record id), apart from the record.
    in_receipt: bool = False
    # What a tenant admin sees of it; "" means nothing of the field itself.
    tenant_admin: str = ""


# --- The declaration. Examples are those of api.md's example batch (tests/telemetry/api_md_example.json),
# except where that batch leaves a field out or holds a placeholder (error_log: "..."): there, an example
# that shows what storage does to it.

EXAMPLE_USER_ID = "amosmarble"

_AS_SENT = _("Stored as sent.")
_COUNT_AS_SENT = _("Stored as sent: a count.")
_CATEGORY = _("Not stored as such: it decides the table the record goes to.")
_TIMESTAMP = _("Stored as sent (in UTC), with its UTC day, which decides when the record expires.")
_CLIENT_ADMIN = _("Records per client and day, by outcome (counts API)")
_TIMESTAMP_ADMIN = _("Records per day, by outcome (dashboard)")
_RECORD_ID = _(
    "Stored as the record id, for idempotency and support look-ups; the tenant's receipt keeps it too, "
    "so that a resent record is answered duplicate."
)
_POOL = _("Stored as a reference to the tenant's pool (a record naming a pool the tenant does not have is rejected).")
_USAGE_COUNTER_ADMIN = _("Sums per pool and per day (dashboard)")
# api.md's example usage record.
USAGE_EXAMPLES = {
    "ims_sent": 12,
    "ims_received": 5,
    "meeting_join_attempts": 5,
    "meeting_join_successes": 4,
    "call_minutes": 30,
}
_SCRUBBED = _(
    "Free text, scrubbed before storage: the record's user ID, SIP URIs, e-mail addresses and IP addresses "
    "are replaced by markers such as [user:1f3a9c2e], [sip:8be0a1c2], [ip:203.0.113.0/24]; the rest is kept."
)

DECLARATIONS: dict[str, dict[str, FieldDeclaration]] = {
    Category.CENSUS: {
        "id": FieldDeclaration(
            example="8c1b6a52-4f0e-4a59-9f53-6d2b1c7f0a11",
            stored_as=StoredAs.NOT_STORED,
            how=_(
                "Not stored in the census row. The tenant's idempotency receipt keeps the id and the day it "
                "arrived, apart from census, so that a resent record is answered duplicate."
            ),
            in_receipt=True,
        ),
        "client": FieldDeclaration(example="desktop", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("client",)),
        "timestamp": FieldDeclaration(
            example="2026-11-20T09:15:00Z", stored_as=StoredAs.AS_SENT, how=_TIMESTAMP, columns=("timestamp", "day")
        ),
        "category": FieldDeclaration(example="census", stored_as=StoredAs.NOT_STORED, how=_CATEGORY),
        "app_name": FieldDeclaration(
            example="iPhoneSkype", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("app_name",)
        ),
        "device_model": FieldDeclaration(
            example="iPhone", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("device_model",)
        ),
        "os_name": FieldDeclaration(
            example="iPhoneiOS", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("os_name",)
        ),
        "os_version": FieldDeclaration(
            example="8.3", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("os_version",)
        ),
        "user_language": FieldDeclaration(
            example="EN-US", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("user_language",)
        ),
        "user_id": FieldDeclaration(
            example="E296D735-4F36-4E18-7C3B-52E1A02A0164",
            stored_as=StoredAs.CLIENT_HASH_THEN_KEYED,
            how=_(
                "Arrives already hashed by the client and is hashed again with a keyed hash (HMAC-SHA256) under "
                "the installation-wide key, in a domain of its own, so that it cannot be joined to the same "
                "user's error reports. The pseudonym carries its key id."
            ),
            columns=("user_hash",),
        ),
        "device_id": FieldDeclaration(
            example="5E872200-F546-4CCD-8F23-AF5F507AA2DD",
            stored_as=StoredAs.AS_SENT,
            how=_("Stored as sent: a GUID generated once on the device."),
            columns=("device_id",),
        ),
        "sign_in_attempts": FieldDeclaration(
            example=3, stored_as=StoredAs.AS_SENT, how=_COUNT_AS_SENT, columns=("sign_in_attempts",)
        ),
        "sign_in_failures": FieldDeclaration(
            example=1, stored_as=StoredAs.AS_SENT, how=_COUNT_AS_SENT, columns=("sign_in_failures",)
        ),
    },
    Category.USAGE: {
        "id": FieldDeclaration(
            example="0f6f7c1e-0b5e-4d7c-a3a9-2f2a9e4c7b10",
            stored_as=StoredAs.AS_SENT,
            how=_RECORD_ID,
            columns=("record_id",),
            in_receipt=True,
        ),
        "client": FieldDeclaration(
            example="desktop", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("client",), tenant_admin=_CLIENT_ADMIN
        ),
        "timestamp": FieldDeclaration(
            example="2026-11-20T09:15:00Z",
            stored_as=StoredAs.AS_SENT,
            how=_TIMESTAMP,
            columns=("timestamp", "day"),
            tenant_admin=_TIMESTAMP_ADMIN,
        ),
        "category": FieldDeclaration(example="usage", stored_as=StoredAs.NOT_STORED, how=_CATEGORY),
        "pool": FieldDeclaration(
            example="pool01.contoso.com",
            stored_as=StoredAs.REFERENCE,
            how=_POOL,
            columns=("pool_id",),
            tenant_admin=_("Usage sums per pool (dashboard)"),
        ),
        "federation_partner": FieldDeclaration(
            example="microsoft.com",
            stored_as=StoredAs.AS_SENT,
            how=_(
                "Stored in cleartext (in lower case): an organization's domain name, validated as one. An e-mail "
                "address, a SIP URI or an IP address is rejected."
            ),
            columns=("federation_partner",),
            tenant_admin=_("Top federation partners, with their number of usage records (dashboard)"),
        ),
        # One per usage counter (telemetry/records.py), with api.md's example values.
        **{
            counter.name: FieldDeclaration(
                example=USAGE_EXAMPLES[counter.name],
                stored_as=StoredAs.AS_SENT,
                how=_COUNT_AS_SENT,
                columns=(counter.name,),
                tenant_admin=_USAGE_COUNTER_ADMIN,
            )
            for counter in USAGE_COUNTERS
        },
    },
    Category.ERROR: {
        "id": FieldDeclaration(
            example="5a0e3b8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
            stored_as=StoredAs.AS_SENT,
            how=_RECORD_ID,
            columns=("record_id",),
            in_receipt=True,
        ),
        "client": FieldDeclaration(
            example="desktop", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("client",), tenant_admin=_CLIENT_ADMIN
        ),
        "timestamp": FieldDeclaration(
            example="2026-11-20T09:15:00Z",
            stored_as=StoredAs.AS_SENT,
            how=_TIMESTAMP,
            columns=("timestamp", "day"),
            tenant_admin=_TIMESTAMP_ADMIN,
        ),
        "category": FieldDeclaration(example="error", stored_as=StoredAs.NOT_STORED, how=_CATEGORY),
        "pool": FieldDeclaration(
            example="pool01.contoso.com", stored_as=StoredAs.REFERENCE, how=_POOL, columns=("pool_id",)
        ),
        "user_id": FieldDeclaration(
            example=EXAMPLE_USER_ID,
            stored_as=StoredAs.KEYED_HASH_TENANT,
            how=_(
                "Arrives in cleartext and is stored only hashed with a keyed hash (HMAC-SHA256) under the tenant's "
                "own key: a per-tenant pseudonym that carries its key id, so the same person in two tenants gets "
                "unrelated pseudonyms. The cleartext is never stored or logged."
            ),
            columns=("user_hash",),
        ),
        "message_direction": FieldDeclaration(
            example="incoming", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("message_direction",)
        ),
        "conversation_state": FieldDeclaration(
            example="idle", stored_as=StoredAs.SCRUBBED_TEXT, how=_SCRUBBED, columns=("conversation_state",)
        ),
        "error_code": FieldDeclaration(
            example="SIGNIN_TIMEOUT",
            stored_as=StoredAs.SCRUBBED_TEXT,
            how=_SCRUBBED,
            columns=("error_code",),
            tenant_admin=_("Error reports per error code, as scrubbed (dashboard)"),
        ),
        "conversation_thread_id": FieldDeclaration(
            example="AdDO8hsJqilU93hQHC3OZaPR2saEA==",
            stored_as=StoredAs.SCRUBBED_TEXT,
            how=_SCRUBBED,
            columns=("conversation_thread_id",),
        ),
        "error_log": FieldDeclaration(
            example="Sign-in of amosmarble (sip:amos.marble@contoso.com) from 203.0.113.7 timed out after 30 s",
            stored_as=StoredAs.SCRUBBED_TEXT,
            how=_SCRUBBED,
            columns=("error_log",),
        ),
        "ip_address": FieldDeclaration(
            example="203.0.113.7",
            stored_as=StoredAs.TRUNCATED_NETWORK,
            how=_interpolated(
                _(
                    "Stored only as its network: /%(ipv4_prefix)s for IPv4, /%(ipv6_prefix)s for IPv6. An IPv6 "
                    "address that carries an IPv4 one (6to4, Teredo, NAT64, IPv4-mapped) is truncated as that IPv4 "
                    "address, to its /%(ipv4_prefix)s."
                ),
                ipv4_prefix=IPV4_PREFIX,
                ipv6_prefix=IPV6_PREFIX,
            ),
            columns=("ip_network",),
        ),
        "sip_uri": FieldDeclaration(
            example="sip:amos.marble@contoso.com",
            stored_as=StoredAs.KEYED_HASH_TENANT,
            how=_(
                "It names the user, so it is stored only hashed with a keyed hash (HMAC-SHA256) under the tenant's "
                "own key: a per-tenant pseudonym that carries its key id, so the same person in two tenants gets "
                "unrelated pseudonyms."
            ),
            columns=("sip_uri_hash",),
        ),
        "os_name": FieldDeclaration(example="Windows", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("os_name",)),
        "crash": FieldDeclaration(
            example=False,
            stored_as=StoredAs.AS_SENT,
            how=_("Stored as sent. A Windows crash from the Meetings App follows the Watson setting."),
            columns=("crash",),
        ),
    },
}

# The columns of each record table, and those the portal fills itself (not from a request field).
STORED_COLUMNS: dict[str, tuple[str, ...]] = {
    Category.CENSUS: CENSUS_COLUMNS,
    Category.USAGE: USAGE_COLUMNS,
    Category.ERROR: ERROR_COLUMNS,
}
_TENANT_COLUMN = {"tenant_id": _("The tenant whose ingestion key sent the record.")}
PORTAL_COLUMNS: dict[str, dict[str, str]] = {
    Category.CENSUS: {
        "id": _(
            "A random id given to the row when the maintenance moves it into the census table; "
            "not the client's record id."
        )
    },
    Category.USAGE: _TENANT_COLUMN,
    Category.ERROR: _TENANT_COLUMN,
}

CATEGORY_NOTES: dict[str, tuple[str, ...]] = {
    Category.CENSUS: (
        _(
            "A census row holds no tenant, no pool and no record id: it identifies neither the organization nor "
            "the user."
        ),
        _(
            "Census rows are staged and moved by the maintenance in random order under new ids, so that nothing, "
            "not even the database's own bookkeeping, links them to a tenant (census unlinkability)."
        ),
    ),
    Category.USAGE: (
        _interpolated(
            _(
                "Usage data may name the organization (the federation partner), never a user: a usage record "
                "carrying %(fields)s is rejected."
            ),
            # Field names of the client API: they stay as they are in every language.
            fields=", ".join(USAGE_IDENTIFYING_FIELDS),
        ),
    ),
    Category.ERROR: (
        _(
            "Pseudonyms are per tenant: the same user ID in two tenants gives two unrelated pseudonyms, so no one, "
            "support staff included, can link a person across organizations."
        ),
        _(
            "A tenant admin can erase one user's error reports (the user is found by typing their user ID); the "
            "erasure is audited as a receipt that never holds the ID."
        ),
    ),
}

CATEGORY_VISIBILITY: dict[str, tuple[str, str]] = {
    # (support staff, tenant admins)
    Category.CENSUS: (
        _("Every census record, installation-wide and read-only (census names no tenant)."),
        _("How many census records their clients sent, per day (dashboard); never the records."),
    ),
    Category.USAGE: (
        _("Every tenant's usage records, read-only."),
        _("Counts only: records per day by outcome, usage sums per pool and per day, top federation partners."),
    ),
    Category.ERROR: (
        _interpolated(
            ngettext_lazy(
                "Every tenant's error reports, read-only: pseudonyms as their first %(digits)s hex digit, "
                "IP networks, scrubbed text.",
                "Every tenant's error reports, read-only: pseudonyms as their first %(digits)s hex digits, "
                "IP networks, scrubbed text.",
                "digits",
            ),
            digits=SHOWN_HASH_LENGTH,
        ),
        _("Counts only: records per day by outcome and error reports per error code."),
    ),
}


def declaration_problems(
    *,
    models: dict | None = None,
    declarations: dict[str, dict[str, FieldDeclaration]] | None = None,
) -> list[str]:
    """Everything that keeps the declaration from matching the request models and the record tables."""
    models = RECORD_MODELS if models is None else models
    declarations = DECLARATIONS if declarations is None else declarations
    problems = []
    for category in sorted(set(models) | set(declarations)):
        sent = set(models[category].model_fields) if category in models else set()
        declared = declarations.get(category, {})
        problems += [
            f"{category}.{name}: a request field without a declaration" for name in sorted(sent - declared.keys())
        ]
        problems += [f"{category}.{name}: declared, but no request field" for name in sorted(declared.keys() - sent)]
        table = set(STORED_COLUMNS.get(category, ()))
        accounted = set(PORTAL_COLUMNS.get(category, {}))
        for name, declaration in declared.items():
            if (declaration.stored_as == StoredAs.NOT_STORED) != (not declaration.columns):
                problems.append(
                    f"{category}.{name}: stored as {declaration.stored_as!s} with columns {declaration.columns}"
                )
            problems += [
                f"{category}.{name}: column {column!r} is not a stored column"
                for column in declaration.columns
                if column not in table
            ]
            accounted.update(declaration.columns)
        problems += [
            f"{category}: stored column {column!r} is declared by nothing" for column in sorted(table - accounted)
        ]
    return problems


def example_record(category: str) -> dict:
    """The declared examples of a category as one record a client could send."""
    return {name: declaration.example for name, declaration in DECLARATIONS[category].items()}


# --- The sheet, as built for a tenant and exported as JSON.


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TenantOut(_Out):
    slug: str
    name: str


class SettingLine(_Out):
    setting: str
    value: str


class PoolMeetingUx(_Out):
    pool: str
    enabled: bool
    decided_by: str = Field(description="The scope that decided it, or the default when none applies.")


class Settings(_Out):
    """The tenant's current settings that govern collection and erasure."""

    usage_data_collection: bool = Field(description="On unless DisableAutomaticSendTracing is True.")
    windows_crash_uploads: bool = Field(description="Windows crash uploads from the Meetings App (Watson).")
    meetings_app_telemetry: list[PoolMeetingUx] = Field(description="Effective MeetingUxEnableTelemetry per pool.")
    users_opted_in_to_error_reporting: int
    erase_error_reports_on_opt_out: bool
    summary: list[SettingLine] = Field(description="The same, in words.")


class RetentionLine(_Out):
    data: str
    kept_for: str
    set_by: str


class Retention(_Out):
    usage_days: int
    error_report_days: int
    census_days: int
    receipt_days: int = Field(description="Record receipts (idempotency): the longest record retention.")
    summary: list[RetentionLine]


class Rule(_Out):
    """One policy that governs the collection of a category, for some clients, and its current setting."""

    clients: list[str]
    setting: str
    current: str
    short: str = Field(description="The setting and its current value in a few words, as the page's rows show it.")
    detail: str = ""

    @property
    def sentence(self) -> str:
        # Translators: a policy, its current value and the clients it covers, e.g. "Usage data collection
        # (DisableAutomaticSendTracing): On (Desktop client, Mobile client, Web client)."
        return gettext("%(setting)s: %(current)s (%(clients)s).") % {
            "setting": self.setting,
            "current": self.current,
            "clients": _listed(self.clients),
        }


class Visibility(_Out):
    support_staff: str
    tenant_admin: str


class FieldSheet(_Out):
    field: str
    required: bool
    example: JsonValue = Field(description="A value a client sends (api.md).")
    example_text: str
    example_note: str = Field(description="Whether the example is kept as such.")
    stored_as: StoredAs
    how: str
    stored_example: str | None = Field(description="What the record holds for the example, where that is no secret.")
    columns: list[str]
    visible_to: Visibility
    kept_for: str
    retention_days: int | None
    governed_by: str

    @property
    def stored_as_words(self) -> str:
        """How the field is stored, in the reader's language (`stored_as` is the code)."""
        return str(STORED_AS_WORDS[self.stored_as])


class ExtraColumn(_Out):
    column: str
    description: str


class CategorySheet(_Out):
    category: Category
    label: str
    notes: list[str]
    retention_days: int
    kept_for: str
    visible_to: Visibility
    governed_by: list[Rule]
    also_stored: list[ExtraColumn]
    fields: list[FieldSheet]


class DataSheet(_Out):
    format: Literal["telemetry-portal.datasheet"] = FORMAT
    version: Literal[1] = VERSION
    generated_at: dt.datetime
    tenant: TenantOut
    settings: Settings
    retention: Retention
    categories: list[CategorySheet]


# --- Building it. Every text goes into the sheet as a plain string in the language of the request that
# builds it (the page, the CSV and the JSON alike); codes, field and column names stay as they are.

USAGE_SETTING = _("Usage data collection (DisableAutomaticSendTracing)")
ERROR_SETTING = _("Usage data collection (DisableAutomaticSendTracing) and the user's own opt-in")
MEETING_UX_SETTING = _("Meetings App telemetry (MeetingUxEnableTelemetry), per pool")
WATSON_SETTING = _("Windows Error Reporting (Watson)")
WATSON_CLIENTS = _("Windows crash uploads from the Meetings App")

# Scrubbed examples are computed under a tenant id no tenant has (ids start at 1), so that their markers
# are no tenant's pseudonyms.
EXAMPLE_TENANT_ID = 0


def _non_meeting_clients() -> list[str]:
    return [str(client.label) for client in Client if client not in MEETING_CLIENTS]


def _meeting_clients() -> list[str]:
    return [str(client.label) for client in Client if client in MEETING_CLIENTS]


def _listed(items: list[str]) -> str:
    # Translators: the separator between the items of a list, e.g. the clients a policy covers.
    return pgettext("list separator", ", ").join(items)


def _clauses(clauses: list[str]) -> str:
    """Clauses that each stand on their own, as one sentence: "a; b; c."."""
    # Translators: the separator between the clauses of a sentence, e.g. "400 days after the record's day;
    # erased earlier on request".
    joined = pgettext("clause separator", "; ").join(clauses)
    # Translators: a sentence made of the clauses above; only its full stop is translated.
    return gettext("%(clauses)s.") % {"clauses": joined}


def _setting_and_value(setting: str, value: str) -> str:
    # Translators: a setting and its current value, e.g. "Usage data collection: On".
    return gettext("%(setting)s: %(value)s") % {"setting": setting, "value": value}


def _value_and_scope(value: str, scope: str) -> str:
    # Translators: a pool's current Meetings App setting and the scope that decided it, e.g. "On (Site:Redmond)".
    return gettext("%(value)s (%(decided_by)s)") % {"value": value, "decided_by": scope}


def _number(value: int) -> str:
    return number_format(value, force_grouping=True)


@dataclass(frozen=True)
class _Context:
    tenant: Tenant
    retention: Retention
    rules: dict[str, list[Rule]]


def _opted_in_users(tenant: Tenant) -> int:
    return EndUser.objects.filter(tenant=tenant, error_reporting_opted_in=True).count()


def _meeting_ux_rule(pools: list[tuple[str, MeetingUxSetting]]) -> Rule:
    if not pools:
        current, detail = gettext("No pools yet"), gettext("Records must name one of the tenant's pools.")
    else:
        enabled = sum(setting.enabled for _fqdn, setting in pools)
        # Both English forms say "pools": the sheet has always read "On for 1 of 1 pools".
        current = ngettext(
            "On for %(enabled)s of %(total)s pools", "On for %(enabled)s of %(total)s pools", len(pools)
        ) % {"enabled": _number(enabled), "total": _number(len(pools))}
        detail = pgettext("list of pools", "; ").join(
            _setting_and_value(fqdn, _value_and_scope(str(on_off(setting.enabled)), str(decided_by(setting))))
            for fqdn, setting in pools
        )
    return Rule(
        clients=_meeting_clients(),
        setting=str(MEETING_UX_SETTING),
        current=current,
        short=gettext("Meetings App telemetry: %(current)s") % {"current": current},
        detail=detail,
    )


def _settings_and_rules(tenant: Tenant) -> tuple[Settings, dict[str, list[Rule]]]:
    summary = [(str(setting), str(value)) for setting, value in client_policy_summary(tenant.policy)]
    # client_policy_summary's lines, in its order: usage data collection, error reporting, Watson.
    (usage_line, usage_now), (error_line, error_now), (watson_line, watson_now) = summary
    pools = [(pool.fqdn, setting) for pool, setting in pools_with_effective_meeting_ux(tenant=tenant)]
    opted_in = _opted_in_users(tenant)
    lines = [SettingLine(setting=setting, value=value) for setting, value in summary]
    lines += [
        SettingLine(
            setting=gettext("Meetings App telemetry for %(pool)s") % {"pool": fqdn},
            value=_value_and_scope(str(on_off(setting.enabled)), str(decided_by(setting))),
        )
        for fqdn, setting in pools
    ]
    lines += [
        SettingLine(setting=gettext("End users who opted in to error reporting"), value=_number(opted_in)),
        SettingLine(
            setting=gettext("Erase a user's error reports when they opt out"),
            value=str(on_off(tenant.erase_error_reports_on_opt_out)),
        ),
    ]
    current = Settings(
        usage_data_collection=tenant.usage_collection_enabled,
        windows_crash_uploads=tenant.watson_enabled,
        meetings_app_telemetry=[
            PoolMeetingUx(pool=fqdn, enabled=setting.enabled, decided_by=str(decided_by(setting)))
            for fqdn, setting in pools
        ],
        users_opted_in_to_error_reporting=opted_in,
        erase_error_reports_on_opt_out=tenant.erase_error_reports_on_opt_out,
        summary=lines,
    )
    meeting_ux = _meeting_ux_rule(pools)
    non_meeting_clients = _non_meeting_clients()
    rules = {
        Category.CENSUS: [
            Rule(
                clients=[gettext("every client")],
                setting=gettext("No setting (census cannot be switched off)"),
                current=gettext("Always on"),
                short=gettext("Always on"),
                detail=str(CENSUS_EXPLANATION),
            )
        ],
        Category.USAGE: [
            Rule(
                clients=non_meeting_clients,
                setting=str(USAGE_SETTING),
                current=usage_now,
                short=_setting_and_value(usage_line, usage_now),
            ),
            meeting_ux,
        ],
        Category.ERROR: [
            Rule(
                clients=non_meeting_clients,
                setting=str(ERROR_SETTING),
                current=error_now,
                short=_setting_and_value(error_line, error_now),
                detail=ngettext("%(count)s end user has opted in.", "%(count)s end users have opted in.", opted_in)
                % {"count": _number(opted_in)},
            ),
            meeting_ux,
            Rule(
                clients=[str(WATSON_CLIENTS)],
                setting=str(WATSON_SETTING),
                current=watson_now,
                short=_setting_and_value(watson_line, watson_now),
            ),
        ],
    }
    return current, rules


def _retention(tenant: Tenant) -> Retention:
    census_days = settings.TELEMETRY_CENSUS_RETENTION_DAYS
    receipt_days = max(tenant.usage_retention_days, tenant.error_report_retention_days, census_days)
    if tenant.erase_error_reports_on_opt_out:
        error_reports_kept = gettext("%(days)s; a user's reports are erased on request, and at once when they opt out")
    else:
        error_reports_kept = gettext("%(days)s; a user's reports are erased on request; opting out keeps them")
    set_by_tenant = gettext("The tenant")
    return Retention(
        usage_days=tenant.usage_retention_days,
        error_report_days=tenant.error_report_retention_days,
        census_days=census_days,
        receipt_days=receipt_days,
        summary=[
            RetentionLine(
                data=gettext("Usage records"), kept_for=_days(tenant.usage_retention_days), set_by=set_by_tenant
            ),
            RetentionLine(
                data=gettext("Error reports"),
                kept_for=error_reports_kept % {"days": _days(tenant.error_report_retention_days)},
                set_by=set_by_tenant,
            ),
            RetentionLine(
                data=gettext("Census records"),
                kept_for=_days(census_days),
                set_by=gettext("The installation (census names no tenant)"),
            ),
            RetentionLine(
                data=gettext("Record receipts (idempotency)"),
                kept_for=ngettext("%(count)s day", "%(count)s days", receipt_days) % {"count": _number(receipt_days)},
                set_by=gettext("Derived: the longest record retention"),
            ),
            RetentionLine(
                data=gettext("Counts (what the dashboard shows)"),
                kept_for=gettext("Kept; they identify nobody and stay when records expire or are erased"),
                set_by=pgettext("set by", "Fixed"),
            ),
            RetentionLine(
                data=gettext("Audit log"), kept_for=pgettext("retention", "Kept"), set_by=pgettext("set by", "Fixed")
            ),
        ],
    )


def _days(days: int) -> str:
    return ngettext("%(count)s day after the record's day", "%(count)s days after the record's day", days) % {
        "count": _number(days)
    }


def _example_text(example: JsonValue) -> str:
    return example if isinstance(example, str) else json.dumps(example)


def _example_note(stored_as: StoredAs) -> str:
    if stored_as == StoredAs.AS_SENT:
        return gettext("Kept as sent.")
    if stored_as == StoredAs.REFERENCE:
        return gettext("Kept as a reference to the tenant's pool.")
    if stored_as == StoredAs.NOT_STORED:
        return gettext("Sent by the client; not stored.")
    return gettext("Sent by the client; not stored as such.")


def _stored_example(category: str, declaration: FieldDeclaration) -> str | None:
    """What the record holds for the example, computed by the code that stores it; None for a pseudonym
    (its value is the secret part) and for what is not stored."""
    kind, example = declaration.stored_as, declaration.example
    if kind in (StoredAs.AS_SENT, StoredAs.REFERENCE):
        return _example_text(example)
    if kind == StoredAs.TRUNCATED_NETWORK:
        return truncate_ip(example)
    if kind == StoredAs.SCRUBBED_TEXT:
        user_id = DECLARATIONS[category]["user_id"].example
        return scrub(example, tenant_id=EXAMPLE_TENANT_ID, user_id=user_id).text
    return None


def _support_sees(category: str, declaration: FieldDeclaration) -> str:
    kind = declaration.stored_as
    if kind == StoredAs.NOT_STORED:
        if declaration.in_receipt:
            return gettext("Nothing: the receipt is not shown in the portal.")
        return gettext("Nothing: not stored.")
    pseudonym_prefix = ngettext(
        "The first %(digits)s hex digit of the pseudonym, never the value",
        "The first %(digits)s hex digits of the pseudonym, never the value",
        SHOWN_HASH_LENGTH,
    ) % {"digits": SHOWN_HASH_LENGTH}
    shown = {
        StoredAs.AS_SENT: gettext("The value"),
        StoredAs.REFERENCE: gettext("The pool's FQDN"),
        StoredAs.KEYED_HASH_TENANT: pseudonym_prefix,
        StoredAs.CLIENT_HASH_THEN_KEYED: pseudonym_prefix,
        StoredAs.TRUNCATED_NETWORK: gettext("The network, never the address"),
        StoredAs.SCRUBBED_TEXT: gettext("The scrubbed text"),
    }[kind]
    if category == Category.CENSUS:
        # Translators: what support staff see of a census field, e.g. "The value (census browser, ...)."
        return gettext("%(shown)s (census browser, installation-wide).") % {"shown": shown}
    # Translators: what support staff see of a usage or error field, e.g. "The value (record browser, read-only)."
    return gettext("%(shown)s (record browser, read-only).") % {"shown": shown}


def _tenant_admin_sees(category: str, declaration: FieldDeclaration) -> str:
    if declaration.tenant_admin:
        # Translators: what a tenant admin sees of a field, e.g. "Sums per pool and per day (dashboard)".
        return gettext("%(shown)s; never the records.") % {"shown": declaration.tenant_admin}
    if category == Category.CENSUS:
        return gettext("Nothing: census records name no tenant.")
    return gettext("Nothing of this field.")


def _category_retention(category: str, retention: Retention) -> tuple[int, str]:
    if category == Category.CENSUS:
        return retention.census_days, gettext("%(days)s (installation-wide)") % {"days": _days(retention.census_days)}
    days = retention.usage_days if category == Category.USAGE else retention.error_report_days
    return days, gettext("%(days)s (set by the tenant)") % {"days": _days(days)}


def _kept_for(category: str, declaration: FieldDeclaration, context: _Context) -> tuple[str, int | None]:
    retention = context.retention
    receipt_days = retention.receipt_days
    # Both English forms say "days", as the sheet always has.
    receipt = ngettext(
        "its receipt %(count)s days (the longest record retention)",
        "its receipt %(count)s days (the longest record retention)",
        receipt_days,
    ) % {"count": _number(receipt_days)}
    if declaration.stored_as == StoredAs.NOT_STORED:
        if declaration.in_receipt:
            return _clauses([gettext("Not in the record"), receipt]), receipt_days
        return gettext("Not kept."), None
    days, words = _category_retention(category, retention)
    clauses = [words]
    if declaration.in_receipt:
        clauses.append(receipt)
    if category == Category.ERROR:
        if context.tenant.erase_error_reports_on_opt_out:
            clauses.append(gettext("erased earlier on request, and at once when the user opts out"))
        else:
            clauses.append(gettext("erased earlier on request (an opt-out does not erase)"))
    return _clauses(clauses), days


def _field_sheet(category: str, name: str, field_info, context: _Context) -> FieldSheet:
    declaration = DECLARATIONS[category][name]
    kept_for, retention_days = _kept_for(category, declaration, context)
    return FieldSheet(
        field=name,
        required=field_info.is_required(),
        example=declaration.example,
        example_text=_example_text(declaration.example),
        example_note=_example_note(declaration.stored_as),
        stored_as=declaration.stored_as,
        how=str(declaration.how),
        stored_example=_stored_example(category, declaration),
        columns=list(declaration.columns),
        visible_to=Visibility(
            support_staff=_support_sees(category, declaration),
            tenant_admin=_tenant_admin_sees(category, declaration),
        ),
        kept_for=kept_for,
        retention_days=retention_days,
        governed_by=" ".join(rule.sentence for rule in context.rules[category]),
    )


def _category_sheet(category: str, model, context: _Context) -> CategorySheet:
    retention_days, kept_for = _category_retention(category, context.retention)
    support, tenant_admin = CATEGORY_VISIBILITY[category]
    return CategorySheet(
        category=category,
        label=str(Category(category).label),
        notes=[str(note) for note in CATEGORY_NOTES[category]],
        retention_days=retention_days,
        kept_for=kept_for,
        visible_to=Visibility(support_staff=str(support), tenant_admin=str(tenant_admin)),
        governed_by=context.rules[category],
        also_stored=[ExtraColumn(column=c, description=str(d)) for c, d in PORTAL_COLUMNS[category].items()],
        fields=[_field_sheet(category, name, info, context) for name, info in model.model_fields.items()],
    )


def datasheet_for(tenant: Tenant) -> DataSheet:
    """The data sheet of a tenant, from the request models, the declaration and the current settings, in
    the active language.

    Refuses (ImproperlyConfigured) while the declaration does not match the request models: a sheet that
    left out a field would be worse than none."""
    problems = declaration_problems()
    if problems:
        raise ImproperlyConfigured("The data sheet's declaration is out of date: " + "; ".join(problems))
    current, rules = _settings_and_rules(tenant)
    context = _Context(tenant=tenant, retention=_retention(tenant), rules=rules)
    return DataSheet(
        generated_at=timezone.now().replace(microsecond=0),
        tenant=TenantOut(slug=tenant.slug, name=tenant.name),
        settings=current,
        retention=context.retention,
        categories=[_category_sheet(category, model, context) for category, model in RECORD_MODELS.items()],
    )


# --- The CSV export: one row per field of every category, the page's table and more.

# The headers follow the language, like the sheet's texts; the cells that are codes (the tenant's slug, field
# and column names, examples) do not.
CSV_HEADER = (
    _("Tenant"),
    _("Category"),
    _("Field"),
    _("Required"),
    _("Example (as a client sends it)"),
    _("Example note"),
    _("Stored as"),
    _("How it is stored"),
    _("Stored example"),
    _("Stored columns"),
    _("Support staff see"),
    _("Tenant admins see"),
    _("Kept for"),
    _("Retention (days)"),
    _("Governed by (current setting)"),
)


def datasheet_csv_rows(sheet: DataSheet) -> list[list[str]]:
    rows = [[str(title) for title in CSV_HEADER]]
    for category in sheet.categories:
        for row in category.fields:
            cells = [
                sheet.tenant.slug,
                category.label,
                row.field,
                pgettext("required", "yes") if row.required else pgettext("required", "no"),
                row.example_text,
                row.example_note,
                row.stored_as_words,
                row.how,
                row.stored_example if row.stored_example is not None else "",
                " ".join(row.columns),
                row.visible_to.support_staff,
                row.visible_to.tenant_admin,
                row.kept_for,
                "" if row.retention_days is None else str(row.retention_days),
                row.governed_by,
            ]
            rows.append(list(cells))
    return rows

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


@dataclass(frozen=True)
class FieldDeclaration:
    """One request field of one category: an example a client sends and how the portal stores it."""

    example: JsonValue
    stored_as: StoredAs
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

_AS_SENT = "Stored as sent."
_COUNT_AS_SENT = "Stored as sent: a count."
_CATEGORY = "Not stored as such: it decides the table the record goes to."
_TIMESTAMP = "Stored as sent (in UTC), with its UTC day, which decides when the record expires."
_CLIENT_ADMIN = "Records per client and day, by outcome (counts API)"
_TIMESTAMP_ADMIN = "Records per day, by outcome (dashboard)"
_RECORD_ID = (
    "Stored as the record id, for idempotency and support look-ups; the tenant's receipt keeps it too, "
    "so that a resent record is answered duplicate."
)
_POOL = "Stored as a reference to the tenant's pool (a record naming a pool the tenant does not have is rejected)."
_USAGE_COUNTER_ADMIN = "Sums per pool and per day (dashboard)"
# api.md's example usage record.
USAGE_EXAMPLES = {
    "ims_sent": 12,
    "ims_received": 5,
    "meeting_join_attempts": 5,
    "meeting_join_successes": 4,
    "call_minutes": 30,
}
_SCRUBBED = (
    "Free text, scrubbed before storage: the record's user ID, SIP URIs, e-mail addresses and IP addresses "
    "are replaced by markers such as [user:1f3a9c2e], [sip:8be0a1c2], [ip:203.0.113.0/24]; the rest is kept."
)
_TENANT_PSEUDONYM = (
    "hashed with a keyed hash (HMAC-SHA256) under the tenant's own key: a per-tenant pseudonym that carries "
    "its key id, so the same person in two tenants gets unrelated pseudonyms."
)

DECLARATIONS: dict[str, dict[str, FieldDeclaration]] = {
    Category.CENSUS: {
        "id": FieldDeclaration(
            example="8c1b6a52-4f0e-4a59-9f53-6d2b1c7f0a11",
            stored_as=StoredAs.NOT_STORED,
            how=(
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
            how=(
                "Arrives already hashed by the client and is hashed again with a keyed hash (HMAC-SHA256) under "
                "the installation-wide key, in a domain of its own, so that it cannot be joined to the same "
                "user's error reports. The pseudonym carries its key id."
            ),
            columns=("user_hash",),
        ),
        "device_id": FieldDeclaration(
            example="5E872200-F546-4CCD-8F23-AF5F507AA2DD",
            stored_as=StoredAs.AS_SENT,
            how="Stored as sent: a GUID generated once on the device.",
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
            tenant_admin="Usage sums per pool (dashboard)",
        ),
        "federation_partner": FieldDeclaration(
            example="microsoft.com",
            stored_as=StoredAs.AS_SENT,
            how=(
                "Stored in cleartext (in lower case): an organization's domain name, validated as one. An e-mail "
                "address, a SIP URI or an IP address is rejected."
            ),
            columns=("federation_partner",),
            tenant_admin="Top federation partners, with their number of usage records (dashboard)",
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
            how=f"Arrives in cleartext and is stored only {_TENANT_PSEUDONYM} The cleartext is never stored or logged.",
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
            tenant_admin="Error reports per error code, as scrubbed (dashboard)",
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
            how=(
                f"Stored only as its network: /{IPV4_PREFIX} for IPv4, /{IPV6_PREFIX} for IPv6. An IPv6 address "
                "that carries an IPv4 one (6to4, Teredo, NAT64, IPv4-mapped) is truncated as that IPv4 address, "
                f"to its /{IPV4_PREFIX}."
            ),
            columns=("ip_network",),
        ),
        "sip_uri": FieldDeclaration(
            example="sip:amos.marble@contoso.com",
            stored_as=StoredAs.KEYED_HASH_TENANT,
            how=f"It names the user, so it is stored only {_TENANT_PSEUDONYM}",
            columns=("sip_uri_hash",),
        ),
        "os_name": FieldDeclaration(example="Windows", stored_as=StoredAs.AS_SENT, how=_AS_SENT, columns=("os_name",)),
        "crash": FieldDeclaration(
            example=False,
            stored_as=StoredAs.AS_SENT,
            how="Stored as sent. A Windows crash from the Meetings App follows the Watson setting.",
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
_TENANT_COLUMN = {"tenant_id": "The tenant whose ingestion key sent the record."}
PORTAL_COLUMNS: dict[str, dict[str, str]] = {
    Category.CENSUS: {
        "id": "A random id given to the row when the maintenance moves it into the census table; "
        "not the client's record id."
    },
    Category.USAGE: _TENANT_COLUMN,
    Category.ERROR: _TENANT_COLUMN,
}

CATEGORY_NOTES: dict[str, tuple[str, ...]] = {
    Category.CENSUS: (
        "A census row holds no tenant, no pool and no record id: it identifies neither the organization nor the user.",
        "Census rows are staged and moved by the maintenance in random order under new ids, so that nothing, "
        "not even the database's own bookkeeping, links them to a tenant (census unlinkability).",
    ),
    Category.USAGE: (
        "Usage data may name the organization (the federation partner), never a user: a usage record carrying "
        f"{', '.join(USAGE_IDENTIFYING_FIELDS)} is rejected.",
    ),
    Category.ERROR: (
        "Pseudonyms are per tenant: the same user ID in two tenants gives two unrelated pseudonyms, so no one, "
        "support staff included, can link a person across organizations.",
        "A tenant admin can erase one user's error reports (the user is found by typing their user ID); the "
        "erasure is audited as a receipt that never holds the ID.",
    ),
}

CATEGORY_VISIBILITY: dict[str, tuple[str, str]] = {
    # (support staff, tenant admins)
    Category.CENSUS: (
        "Every census record, installation-wide and read-only (census names no tenant).",
        "How many census records their clients sent, per day (dashboard); never the records.",
    ),
    Category.USAGE: (
        "Every tenant's usage records, read-only.",
        "Counts only: records per day by outcome, usage sums per pool and per day, top federation partners.",
    ),
    Category.ERROR: (
        f"Every tenant's error reports, read-only: pseudonyms as their first {SHOWN_HASH_LENGTH} hex digits, "
        "IP networks, scrubbed text.",
        "Counts only: records per day by outcome and error reports per error code.",
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
    def words(self) -> str:
        return f"{self.setting}: {self.current} ({', '.join(self.clients)})"


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


# --- Building it.

USAGE_SETTING = "Usage data collection (DisableAutomaticSendTracing)"
ERROR_SETTING = "Usage data collection (DisableAutomaticSendTracing) and the user's own opt-in"
MEETING_UX_SETTING = "Meetings App telemetry (MeetingUxEnableTelemetry), per pool"
WATSON_SETTING = "Windows Error Reporting (Watson)"
# The labels of client_policy_summary's lines (telemetry/policy.py).
USAGE_LINE = "Usage data collection"
ERROR_LINE = "Error reporting"
WATSON_LINE = "Windows crash uploads from the Meetings App"

NON_MEETING_CLIENTS = [client.label for client in Client if client not in MEETING_CLIENTS]
MEETING_CLIENT_LABELS = [client.label for client in Client if client in MEETING_CLIENTS]
# Scrubbed examples are computed under a tenant id no tenant has (ids start at 1), so that their markers
# are no tenant's pseudonyms.
EXAMPLE_TENANT_ID = 0


@dataclass(frozen=True)
class _Context:
    tenant: Tenant
    retention: Retention
    rules: dict[str, list[Rule]]


def _opted_in_users(tenant: Tenant) -> int:
    return EndUser.objects.filter(tenant=tenant, error_reporting_opted_in=True).count()


def _meeting_ux_rule(pools: list[tuple[str, MeetingUxSetting]]) -> Rule:
    if not pools:
        current, detail = "No pools yet", "Records must name one of the tenant's pools."
    else:
        enabled = sum(setting.enabled for _, setting in pools)
        current = f"On for {enabled} of {len(pools)} pools"
        detail = "; ".join(f"{fqdn}: {on_off(setting.enabled)} ({decided_by(setting)})" for fqdn, setting in pools)
    return Rule(
        clients=MEETING_CLIENT_LABELS,
        setting=MEETING_UX_SETTING,
        current=current,
        short=f"Meetings App telemetry: {current}",
        detail=detail,
    )


def _settings_and_rules(tenant: Tenant) -> tuple[Settings, dict[str, list[Rule]]]:
    summary = client_policy_summary(tenant.policy)
    words = dict(summary)
    pools = [(pool.fqdn, setting) for pool, setting in pools_with_effective_meeting_ux(tenant=tenant)]
    opted_in = _opted_in_users(tenant)
    lines = [SettingLine(setting=setting, value=value) for setting, value in summary]
    lines += [
        SettingLine(
            setting=f"Meetings App telemetry for {fqdn}", value=f"{on_off(setting.enabled)} ({decided_by(setting)})"
        )
        for fqdn, setting in pools
    ]
    lines += [
        SettingLine(setting="End users who opted in to error reporting", value=f"{opted_in:,}"),
        SettingLine(
            setting="Erase a user's error reports when they opt out",
            value=on_off(tenant.erase_error_reports_on_opt_out),
        ),
    ]
    current = Settings(
        usage_data_collection=tenant.usage_collection_enabled,
        windows_crash_uploads=tenant.watson_enabled,
        meetings_app_telemetry=[
            PoolMeetingUx(pool=fqdn, enabled=setting.enabled, decided_by=decided_by(setting)) for fqdn, setting in pools
        ],
        users_opted_in_to_error_reporting=opted_in,
        erase_error_reports_on_opt_out=tenant.erase_error_reports_on_opt_out,
        summary=lines,
    )
    meeting_ux = _meeting_ux_rule(pools)
    rules = {
        Category.CENSUS: [
            Rule(
                clients=["every client"],
                setting="No setting (census cannot be switched off)",
                current="Always on",
                short="Always on",
                detail=CENSUS_EXPLANATION,
            )
        ],
        Category.USAGE: [
            Rule(
                clients=NON_MEETING_CLIENTS,
                setting=USAGE_SETTING,
                current=words[USAGE_LINE],
                short=f"{USAGE_LINE}: {words[USAGE_LINE]}",
            ),
            meeting_ux,
        ],
        Category.ERROR: [
            Rule(
                clients=NON_MEETING_CLIENTS,
                setting=ERROR_SETTING,
                current=words[ERROR_LINE],
                short=f"{ERROR_LINE}: {words[ERROR_LINE]}",
                detail=f"{opted_in:,} end users have opted in.",
            ),
            meeting_ux,
            Rule(
                clients=["Windows crash uploads from the Meetings App"],
                setting=WATSON_SETTING,
                current=words[WATSON_LINE],
                short=f"{WATSON_LINE}: {words[WATSON_LINE]}",
            ),
        ],
    }
    return current, rules


def _retention(tenant: Tenant) -> Retention:
    census_days = settings.TELEMETRY_CENSUS_RETENTION_DAYS
    receipt_days = max(tenant.usage_retention_days, tenant.error_report_retention_days, census_days)
    erasure = "on" if tenant.erase_error_reports_on_opt_out else "off"
    return Retention(
        usage_days=tenant.usage_retention_days,
        error_report_days=tenant.error_report_retention_days,
        census_days=census_days,
        receipt_days=receipt_days,
        summary=[
            RetentionLine(data="Usage records", kept_for=_days(tenant.usage_retention_days), set_by="The tenant"),
            RetentionLine(
                data="Error reports",
                kept_for=f"{_days(tenant.error_report_retention_days)}; a user's reports are erased on request, "
                f"and at once when they opt out ({erasure})",
                set_by="The tenant",
            ),
            RetentionLine(
                data="Census records",
                kept_for=_days(census_days),
                set_by="The installation (census names no tenant)",
            ),
            RetentionLine(
                data="Record receipts (idempotency)",
                kept_for=f"{receipt_days:,} days",
                set_by="Derived: the longest record retention",
            ),
            RetentionLine(
                data="Counts (what the dashboard shows)",
                kept_for="Kept; they identify nobody and stay when records expire or are erased",
                set_by="Fixed",
            ),
            RetentionLine(data="Audit log", kept_for="Kept", set_by="Fixed"),
        ],
    )


def _days(days: int) -> str:
    return f"{days:,} days after the record's day" if days != 1 else "1 day after the record's day"


def _example_text(example: JsonValue) -> str:
    return example if isinstance(example, str) else json.dumps(example)


def _example_note(stored_as: StoredAs) -> str:
    if stored_as == StoredAs.AS_SENT:
        return "Kept as sent."
    if stored_as == StoredAs.REFERENCE:
        return "Kept as a reference to the tenant's pool."
    if stored_as == StoredAs.NOT_STORED:
        return "Sent by the client; not stored."
    return "Sent by the client; not stored as such."


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
        return "Nothing: the receipt is not shown in the portal." if declaration.in_receipt else "Nothing: not stored."
    shown = {
        StoredAs.AS_SENT: "The value",
        StoredAs.REFERENCE: "The pool's FQDN",
        StoredAs.KEYED_HASH_TENANT: f"The first {SHOWN_HASH_LENGTH} hex digits of the pseudonym, never the value",
        StoredAs.CLIENT_HASH_THEN_KEYED: f"The first {SHOWN_HASH_LENGTH} hex digits of the pseudonym, never the value",
        StoredAs.TRUNCATED_NETWORK: "The network, never the address",
        StoredAs.SCRUBBED_TEXT: "The scrubbed text",
    }[kind]
    where = "census browser, installation-wide" if category == Category.CENSUS else "record browser, read-only"
    return f"{shown} ({where})."


def _tenant_admin_sees(category: str, declaration: FieldDeclaration) -> str:
    if declaration.tenant_admin:
        return f"{declaration.tenant_admin}; never the records."
    if category == Category.CENSUS:
        return "Nothing: census records name no tenant."
    return "Nothing of this field."


def _category_retention(category: str, retention: Retention) -> tuple[int, str]:
    if category == Category.CENSUS:
        return retention.census_days, f"{_days(retention.census_days)} (installation-wide)"
    if category == Category.USAGE:
        return retention.usage_days, f"{_days(retention.usage_days)} (set by the tenant)"
    return retention.error_report_days, f"{_days(retention.error_report_days)} (set by the tenant)"


def _kept_for(category: str, declaration: FieldDeclaration, context: _Context) -> tuple[str, int | None]:
    retention = context.retention
    receipt = f"its receipt {retention.receipt_days:,} days (the longest record retention)"
    if declaration.stored_as == StoredAs.NOT_STORED:
        if declaration.in_receipt:
            return f"Not in the record; {receipt}.", retention.receipt_days
        return "Not kept.", None
    days, words = _category_retention(category, retention)
    if declaration.in_receipt:
        words += f"; {receipt}"
    if category == Category.ERROR:
        if context.tenant.erase_error_reports_on_opt_out:
            words += "; erased earlier on request, and at once when the user opts out"
        else:
            words += "; erased earlier on request (an opt-out does not erase)"
    return f"{words}.", days


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
        how=declaration.how,
        stored_example=_stored_example(category, declaration),
        columns=list(declaration.columns),
        visible_to=Visibility(
            support_staff=_support_sees(category, declaration),
            tenant_admin=_tenant_admin_sees(category, declaration),
        ),
        kept_for=kept_for,
        retention_days=retention_days,
        governed_by=". ".join(rule.words for rule in context.rules[category]) + ".",
    )


def _category_sheet(category: str, model, context: _Context) -> CategorySheet:
    retention_days, kept_for = _category_retention(category, context.retention)
    support, tenant_admin = CATEGORY_VISIBILITY[category]
    return CategorySheet(
        category=category,
        label=Category(category).label,
        notes=list(CATEGORY_NOTES[category]),
        retention_days=retention_days,
        kept_for=kept_for,
        visible_to=Visibility(support_staff=support, tenant_admin=tenant_admin),
        governed_by=context.rules[category],
        also_stored=[ExtraColumn(column=c, description=d) for c, d in PORTAL_COLUMNS[category].items()],
        fields=[_field_sheet(category, name, info, context) for name, info in model.model_fields.items()],
    )


def datasheet_for(tenant: Tenant) -> DataSheet:
    """The data sheet of a tenant, from the request models, the declaration and the current settings.

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

CSV_HEADER = (
    "Tenant",
    "Category",
    "Field",
    "Required",
    "Example (as a client sends it)",
    "Example note",
    "Stored as",
    "How it is stored",
    "Stored example",
    "Stored columns",
    "Support staff see",
    "Tenant admins see",
    "Kept for",
    "Retention (days)",
    "Governed by (current setting)",
)


def datasheet_csv_rows(sheet: DataSheet) -> list[list[str]]:
    rows = [list(CSV_HEADER)]
    for category in sheet.categories:
        for row in category.fields:
            cells = [
                sheet.tenant.slug,
                category.label,
                row.field,
                "yes" if row.required else "no",
                row.example_text,
                row.example_note,
                str(row.stored_as),
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

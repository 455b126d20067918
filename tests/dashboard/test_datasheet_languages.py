"""The data sheet and the erase page in the reader's language (operations.md, "Languages").

The page, the CSV (its headers included) and the JSON's sentences follow the language of the request; the
JSON's keys and codes, and the cells that are codes (slugs, field and column names, examples), do not.
English reads exactly as it always has.

Translations are stubbed into Italian's catalogue for the test, so that what is asserted does not depend
on the translators' words.
"""

import csv
import io
import re

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from telemetry.datasheet import datasheet_csv_rows, datasheet_for
from telemetry.models import ErrorReport
from telemetry.vocabulary import Category
from tenants import services
from tests.admin.conftest import error_report_create
from tests.admin.test_find_user import assert_nowhere

CSV_URL = reverse("datasheet_export_csv")
JSON_URL = reverse("datasheet_export_json")
PAGE = reverse("datasheet")
ERASE = reverse("erase_end_user")
TYPED_ID = "Amos.Marble@contoso.com"

ENGLISH_CSV_HEADER = [
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
]

# (context or None, msgid) -> the stub's Italian.
STUB = {
    (None, "Category"): "Categoria",
    (None, "Field"): "Campo",
    (None, "Required"): "Obbligatorio",
    (None, "Kept as sent."): "Conservato come inviato.",
    (None, "Data sheet: %(tenant)s"): "Scheda dati: %(tenant)s",
    (None, "Download as CSV"): "Scarica come CSV",
    ("stored as", "as sent"): "come inviato",
    ("stored as", "keyed hash (tenant key)"): "hash con chiave (chiave del tenant)",
    ("required", "yes"): "sì",
    (None, "Stored as sent."): "Conservato come inviato dal client.",
    (None, "Erase this user's data?"): "Cancellare i dati di questo utente?",
    (None, "Yes, erase it"): "Sì, cancella",
    (
        None,
        "Erased user %(user)s: %(removed)s. The receipt is in the audit log (%(created_at)s UTC).",
    ): "Utente %(user)s cancellato: %(removed)s. La ricevuta è nel registro (%(created_at)s UTC).",
}


@pytest.fixture
def italian_stub(monkeypatch):
    """Italian's catalogue with STUB's messages in front of whatever it holds."""
    catalogue = trans_real.translation("it")._catalog
    entries = {(f"{context}\x04{msgid}" if context else msgid): text for (context, msgid), text in STUB.items()}
    monkeypatch.setattr(catalogue, "_catalogs", [entries, *catalogue._catalogs])
    monkeypatch.setattr(catalogue, "_plurals", [lambda n: int(n != 1), *catalogue._plurals])


def _csv_lines(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def _category(sheet: dict, category: str) -> dict:
    return next(item for item in sheet["categories"] if item["category"] == category)


def _field(sheet: dict, category: str, field: str) -> dict:
    return next(row for row in _category(sheet, category)["fields"] if row["field"] == field)


# --- English is as it was ------------------------------------------------------------------------------


def test_the_english_csv_is_unchanged(client, hamlet, contoso_pool, settings):
    settings.TELEMETRY_CENSUS_RETENTION_DAYS = 1095
    client.force_login(hamlet)
    response = client.get(CSV_URL, {"tenant": "contoso"}, HTTP_ACCEPT_LANGUAGE="en")
    lines = _csv_lines(response)
    assert lines[0] == ENGLISH_CSV_HEADER
    rows = {(row[1], row[2]): dict(zip(ENGLISH_CSV_HEADER, row, strict=True)) for row in lines[1:]}
    client_row = rows[("Census", "client")]
    assert (client_row["Required"], client_row["Stored as"], client_row["Example note"]) == (
        "yes",
        "as sent",
        "Kept as sent.",
    )
    assert client_row["Kept for"] == "1,095 days after the record's day (installation-wide)."
    user_id = rows[("Error reports", "user_id")]
    assert user_id["Stored as"] == "keyed hash (tenant key)"
    assert user_id["How it is stored"].startswith(
        "Arrives in cleartext and is stored only hashed with a keyed hash (HMAC-SHA256) under the tenant's own key"
    )
    assert user_id["Support staff see"] == (
        "The first 8 hex digits of the pseudonym, never the value (record browser, read-only)."
    )
    assert rows[("Usage", "ims_sent")]["Governed by (current setting)"] == (
        "Usage data collection (DisableAutomaticSendTracing): On (Desktop client, Mobile client, Web client). "
        "Meetings App telemetry (MeetingUxEnableTelemetry), per pool: On for 0 of 1 pools "
        "(Meetings App, Join launcher)."
    )


def test_the_english_json_sentences_are_unchanged(client, hamlet, contoso_pool):
    client.force_login(hamlet)
    sheet = client.get(JSON_URL, {"tenant": "contoso"}, HTTP_ACCEPT_LANGUAGE="en").json()
    ip_address = _field(sheet, "error", "ip_address")
    assert ip_address["how"] == (
        "Stored only as its network: /24 for IPv4, /48 for IPv6. An IPv6 address that carries an IPv4 one "
        "(6to4, Teredo, NAT64, IPv4-mapped) is truncated as that IPv4 address, to its /24."
    )
    assert ip_address["stored_as"] == "truncated network"
    assert _category(sheet, "usage")["notes"] == [
        "Usage data may name the organization (the federation partner), never a user: a usage record carrying "
        "user_id, sip_uri, ip_address is rejected."
    ]
    assert _category(sheet, "error")["visible_to"]["support_staff"] == (
        "Every tenant's error reports, read-only: pseudonyms as their first 8 hex digits, IP networks, scrubbed text."
    )
    census_id = _field(sheet, "census", "id")
    assert re.fullmatch(
        r"Not in the record; its receipt [\d,]+ days \(the longest record retention\)\.", census_id["kept_for"]
    )
    assert [line["setting"] for line in sheet["settings"]["summary"]][:3] == [
        "Usage data collection",
        "Error reporting",
        "Windows crash uploads from the Meetings App",
    ]


# --- Another language ----------------------------------------------------------------------------------


def test_the_csv_headers_and_words_follow_the_language_and_codes_do_not(client, hamlet, contoso, italian_stub):
    client.force_login(hamlet)
    lines = _csv_lines(client.get(CSV_URL, {"tenant": "contoso"}, HTTP_ACCEPT_LANGUAGE="it"))
    header = lines[0]
    assert header[1:4] == ["Categoria", "Campo", "Obbligatorio"]
    # Words outside the stub: as Italian's own catalogue has them (English only where it has none).
    with translation.override("it"):
        tenant_word, census_word = translation.gettext("Tenant"), str(Category.CENSUS.label)
    assert header[0] == tenant_word
    rows = {row[2]: row for row in lines[1:] if row[1] == census_word}
    # The field name, the tenant's slug and the example are codes; the words around them are Italian.
    assert rows["client"][:7] == [
        "contoso",
        census_word,
        "client",
        "sì",
        "desktop",
        "Conservato come inviato.",
        "come inviato",
    ]
    assert rows["client"][7] == "Conservato come inviato dal client."


def test_the_json_keeps_its_keys_and_codes_and_speaks_the_language(client, hamlet, contoso, italian_stub):
    client.force_login(hamlet)
    response = client.get(JSON_URL, {"tenant": "contoso"}, HTTP_ACCEPT_LANGUAGE="it")
    assert response["Content-Language"] == "it"
    sheet = response.json()
    row = _field(sheet, "census", "client")
    assert (row["field"], row["stored_as"], row["columns"]) == ("client", "as sent", ["client"])
    assert (row["example_note"], row["how"]) == ("Conservato come inviato.", "Conservato come inviato dal client.")
    assert _field(sheet, "error", "user_id")["stored_as"] == "keyed hash (tenant key)"
    assert [category["category"] for category in sheet["categories"]] == ["census", "usage", "error"]


def test_the_page_follows_the_language(client, hamlet, contoso, italian_stub):
    client.force_login(hamlet)
    body = client.get(PAGE, {"tenant": "contoso"}, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "<title>Scheda dati: Contoso |" in body
    assert '<th scope="col" class="col-field">Campo</th>' in body
    assert 'data-label="Campo"' in body
    assert "Scarica come CSV" in body
    row = re.search(r'<tr id="field-error-user_id">.*?</tr>', body, flags=re.DOTALL).group(0)
    assert '<strong class="stored-as">hash con chiave (chiave del tenant)</strong>' in row


def test_a_sheet_built_in_one_language_leaves_the_next_in_its_own(contoso, italian_stub):
    """The declaration's sentences are lazy: nothing is translated once, at import, for everyone."""
    with translation.override("it"):
        italian = datasheet_csv_rows(datasheet_for(contoso))
    with translation.override("en"):
        english = datasheet_csv_rows(datasheet_for(contoso))
    assert italian[0][2] == "Campo"
    assert english[0] == ENGLISH_CSV_HEADER
    assert english[1][5] == "Sent by the client; not stored."  # census id: not in the stub, nor changed
    assert [row[5] for row in english[1:]].count("Kept as sent.") > 0
    assert "Conservato come inviato." not in {cell for row in english for cell in row}


# --- The erase page ------------------------------------------------------------------------------------


@pytest.fixture
def amos_reports(contoso, contoso_pool):
    services.end_user_set_error_reporting(tenant=contoso, user_id=TYPED_ID, opted_in=True)
    return [error_report_create(tenant=contoso, pool=contoso_pool, user_id=TYPED_ID) for _ in "ab"]


def test_the_english_erasure_message_is_unchanged(client, hamlet, amos_reports):
    client.force_login(hamlet)
    confirm = client.post(ERASE, {"user_id": TYPED_ID}, HTTP_ACCEPT_LANGUAGE="en")
    done = client.post(
        ERASE,
        {"tenant": "contoso", "pseudonyms": confirm.context["pseudonyms"], "_confirm_erasure": "yes"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert re.search(
        r"Erased user [0-9a-f]{8}: 2 error reports and 1 opt-in\. "
        r"The receipt is in the audit log \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)\.",
        done.content.decode(),
    )


def test_the_erase_page_follows_the_language_and_never_shows_the_id(client, hamlet, amos_reports, italian_stub):
    client.force_login(hamlet)
    confirm = client.post(ERASE, {"user_id": TYPED_ID}, HTTP_ACCEPT_LANGUAGE="it")
    body = confirm.content.decode()
    assert "<title>Cancellare i dati di questo utente? |" in body
    assert 'value="Sì, cancella"' in body
    assert TYPED_ID.casefold() not in body.casefold()
    assert ErrorReport.objects.filter(pk__in=[report.pk for report in amos_reports]).count() == 2

    done = client.post(
        ERASE,
        {"tenant": "contoso", "pseudonyms": confirm.context["pseudonyms"], "_confirm_erasure": "yes"},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="it",
    )
    assert re.search(
        r"Utente [0-9a-f]{8} cancellato: .+\. La ricevuta è nel registro \(.+ UTC\)\.", done.content.decode()
    )
    assert not ErrorReport.objects.filter(pk__in=[report.pk for report in amos_reports]).exists()
    assert_nowhere(done, TYPED_ID)

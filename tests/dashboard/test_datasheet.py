"""The data sheet (lifecycle.md): its declaration against the request models and the record tables, the
page and both exports, scoping, and the tenant's current settings in it."""

import copy
import csv
import dataclasses
import html
import io
import json
import re
from pathlib import Path

import jsonschema
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from pydantic import create_model

from telemetry import datasheet
from telemetry.datasheet import (
    CSV_HEADER,
    DECLARATIONS,
    STORED_COLUMNS,
    DataSheet,
    StoredAs,
    datasheet_for,
    declaration_problems,
    example_record,
)
from telemetry.pseudonymize import hash_user_id
from telemetry.schemas import RECORD_MODELS, CensusRecordIn
from telemetry.vocabulary import Category
from tenants import services
from tenants.models import EndUser, Tenant
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.client_api import closed

PAGE = reverse("datasheet")
CSV_URL = reverse("datasheet_export_csv")
JSON_URL = reverse("datasheet_export_json")
URLS = (PAGE, CSV_URL, JSON_URL)
API_MD_EXAMPLE = Path(__file__).resolve().parent.parent / "telemetry" / "api_md_example.json"
# api.md's example batch holds a placeholder ("...") here; the sheet shows a log that scrubbing changes.
NOT_API_MD_EXAMPLES = {(Category.ERROR, "error_log")}
FIELD_COUNT = sum(len(model.model_fields) for model in RECORD_MODELS.values())


def _signed_in(client, user):
    client.force_login(user)
    return client


def _text(response) -> str:
    """The page's words, tags removed and white space collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", body, flags=re.DOTALL)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def _csv(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


# --- The declaration -----------------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(Category))
def test_the_declaration_covers_exactly_the_request_fields(category):
    assert set(DECLARATIONS[category]) == set(RECORD_MODELS[category].model_fields)


def test_the_declaration_has_no_problem():
    assert set(DECLARATIONS) == set(RECORD_MODELS)
    assert declaration_problems() == []


def test_a_new_request_field_without_a_declaration_is_a_problem():
    extended = create_model("CensusWithMore", __base__=CensusRecordIn, favourite_colour=(str, ""))
    problems = declaration_problems(models={**RECORD_MODELS, Category.CENSUS: extended})
    assert problems == ["census.favourite_colour: a request field without a declaration"]


def test_a_declaration_of_a_field_that_no_longer_exists_is_a_problem():
    declarations = copy.copy(DECLARATIONS)
    # Declared as not stored, so that no column is missing from the table: only the stale name is a problem.
    declarations[Category.USAGE] = {
        **DECLARATIONS[Category.USAGE],
        "fax_pages": DECLARATIONS[Category.USAGE]["category"],
    }
    assert declaration_problems(declarations=declarations) == ["usage.fax_pages: declared, but no request field"]


def test_a_stored_column_nothing_declares_and_a_column_that_is_not_stored_are_problems():
    declarations = copy.copy(DECLARATIONS)
    declarations[Category.ERROR] = {
        **DECLARATIONS[Category.ERROR],
        "ip_address": dataclasses.replace(DECLARATIONS[Category.ERROR]["ip_address"], columns=("ip_address",)),
    }
    assert declaration_problems(declarations=declarations) == [
        "error.ip_address: column 'ip_address' is not a stored column",
        "error: stored column 'ip_network' is declared by nothing",
    ]


def test_not_stored_means_no_column():
    declarations = copy.copy(DECLARATIONS)
    declarations[Category.CENSUS] = {
        **DECLARATIONS[Category.CENSUS],
        "category": dataclasses.replace(DECLARATIONS[Category.CENSUS]["category"], stored_as=StoredAs.AS_SENT),
    }
    assert declaration_problems(declarations=declarations) == ["census.category: stored as as sent with columns ()"]


def test_the_sheet_refuses_to_leave_out_a_field(contoso, monkeypatch):
    declarations = {**DECLARATIONS, Category.CENSUS: dict(DECLARATIONS[Category.CENSUS])}
    del declarations[Category.CENSUS]["device_id"]
    monkeypatch.setattr(datasheet, "DECLARATIONS", declarations)
    with pytest.raises(ImproperlyConfigured, match=r"census\.device_id: a request field without a declaration"):
        datasheet_for(contoso)


@pytest.mark.parametrize("category", list(Category))
def test_the_examples_make_a_valid_record(category):
    RECORD_MODELS[category].model_validate(example_record(category))


def test_the_examples_are_those_of_api_md():
    batch = json.loads(API_MD_EXAMPLE.read_text())["records"]
    compared = 0
    for record in batch:
        declared = DECLARATIONS[record["category"]]
        for name, value in record.items():
            if (record["category"], name) in NOT_API_MD_EXAMPLES:
                continue
            assert declared[name].example == value, f"{record['category']}.{name}"
            compared += 1
    assert compared == sum(len(record) for record in batch) - len(NOT_API_MD_EXAMPLES)


@pytest.mark.parametrize(
    ("category", "field", "stored_as"),
    [
        (Category.CENSUS, "id", StoredAs.NOT_STORED),
        (Category.CENSUS, "user_id", StoredAs.CLIENT_HASH_THEN_KEYED),
        (Category.CENSUS, "device_id", StoredAs.AS_SENT),
        (Category.USAGE, "id", StoredAs.AS_SENT),
        (Category.USAGE, "pool", StoredAs.REFERENCE),
        (Category.USAGE, "federation_partner", StoredAs.AS_SENT),
        (Category.ERROR, "category", StoredAs.NOT_STORED),
        (Category.ERROR, "user_id", StoredAs.KEYED_HASH_TENANT),
        (Category.ERROR, "sip_uri", StoredAs.KEYED_HASH_TENANT),
        (Category.ERROR, "ip_address", StoredAs.TRUNCATED_NETWORK),
        (Category.ERROR, "error_log", StoredAs.SCRUBBED_TEXT),
        (Category.ERROR, "conversation_thread_id", StoredAs.SCRUBBED_TEXT),
        (Category.ERROR, "crash", StoredAs.AS_SENT),
    ],
)
def test_how_fields_are_stored(category, field, stored_as):
    assert DECLARATIONS[category][field].stored_as == stored_as


def test_census_stores_no_record_id_and_names_no_tenant():
    census_columns = set(STORED_COLUMNS[Category.CENSUS])
    assert {"record_id", "tenant_id", "pool_id"}.isdisjoint(census_columns)
    assert DECLARATIONS[Category.CENSUS]["id"].in_receipt


# --- The sheet of a tenant -----------------------------------------------------------------------------


def test_stored_examples_come_from_the_storing_code(contoso):
    sheet = datasheet_for(contoso)
    error = {row.field: row for row in _category(sheet, Category.ERROR).fields}
    assert error["ip_address"].stored_example == "203.0.113.0/24"
    log = error["error_log"].stored_example
    assert re.fullmatch(
        r"Sign-in of \[user:[0-9a-f]{8}\] \(\[sip:[0-9a-f]{8}\]\) from \[ip:203\.0\.113\.0/24\] timed out after 30 s",
        log,
    )
    # A pseudonym's value is the secret part: no example of it is shown.
    assert error["user_id"].stored_example is None
    assert error["sip_uri"].stored_example is None


def test_the_sheet_follows_the_request_models_in_order(contoso):
    sheet = datasheet_for(contoso)
    assert [category.category for category in sheet.categories] == list(RECORD_MODELS)
    for category in sheet.categories:
        model = RECORD_MODELS[category.category]
        assert [row.field for row in category.fields] == list(model.model_fields)
        assert [row.required for row in category.fields] == [info.is_required() for info in model.model_fields.values()]


# --- The page and the exports: scoping -----------------------------------------------------------------


def test_anonymous_is_sent_to_the_sign_in(client, contoso):
    for url in URLS:
        response = client.get(url, {"tenant": "contoso"})
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", URLS)
def test_only_get(client, hamlet, url):
    assert _signed_in(client, hamlet).post(url, {"tenant": "contoso"}).status_code == 405


@pytest.mark.parametrize("url", URLS)
def test_a_tenant_admin_gets_their_own_tenant(client, hamlet, fabrikam, url):
    response = _signed_in(client, hamlet).get(url, {"tenant": "contoso"})
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    # Without a slug: their own tenant, never the first of all.
    assert _signed_in(client, hamlet).get(url).status_code == 200
    assert b"fabrikam" not in _signed_in(client, hamlet).get(url).content


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("slug", ["fabrikam", "northwind", "not a slug"])
def test_another_tenants_or_an_unknown_slug_is_a_404(client, hamlet, fabrikam, url, slug):
    response = _signed_in(client, hamlet).get(url, {"tenant": slug})
    assert response.status_code == 404
    assert b"Fabrikam" not in response.content


@pytest.mark.parametrize("url", URLS)
def test_support_staff_pick_any_tenant(client, iago, contoso, fabrikam, url):
    signed_in = _signed_in(client, iago)
    for tenant in (contoso, fabrikam):
        response = signed_in.get(url, {"tenant": tenant.slug})
        assert response.status_code == 200
        assert tenant.slug.encode() in response.content


def test_support_staff_have_a_tenant_picker_and_tenant_admins_none(client, iago, othello, contoso, fabrikam):
    page = _signed_in(client, iago).get(PAGE, {"tenant": "fabrikam"})
    assert b'<select name="tenant"' in page.content
    assert b'<option value="fabrikam" selected>' in page.content
    page = _signed_in(client, othello).get(PAGE)
    assert page.context["tenant"] == fabrikam
    assert b'<select name="tenant"' not in page.content


# --- The page ------------------------------------------------------------------------------------------


def test_the_page_shows_every_field_and_the_current_settings(client, hamlet, contoso_pool):
    response = _signed_in(client, hamlet).get(PAGE, {"tenant": "contoso"})
    assert response.status_code == 200
    text = _text(response)
    assert "Data sheet: Contoso" in text
    assert "Usage data collection: On" in text
    assert "Windows crash uploads from the Meetings App: On" in text
    assert "Meetings App telemetry for pool01.contoso.com: Off (Global)" in text
    assert "Erase a user's error reports when they opt out: On" in text
    for column in ("Field", "Example", "Stored as", "Who can see it", "Kept for", "Governed by"):
        assert re.search(rf'<th scope="col" class="col-[a-z]+">{column}</th>', response.content.decode())
    for category, model in RECORD_MODELS.items():
        for name in model.model_fields:
            assert f'id="field-{category}-{name}"' in response.content.decode()
    assert f'href="{CSV_URL}?tenant=contoso"' in response.content.decode()
    assert f'href="{JSON_URL}?tenant=contoso"' in response.content.decode()
    # The policy is said as people read it, never as the double negative.
    assert "DisableAutomaticSendTracing is" not in text
    assert "DisableAutomaticSendTracing: True" not in text


def test_turning_usage_collection_off_shows_on_the_sheet(client, hamlet, contoso):
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    signed_in = _signed_in(client, hamlet)

    text = _text(signed_in.get(PAGE, {"tenant": "contoso"}))
    assert "Usage data collection: Off" in text
    assert "Error reporting: Off (usage data collection is off)" in text
    assert "Usage data collection: On" not in text

    sheet = signed_in.get(JSON_URL, {"tenant": "contoso"}).json()
    assert sheet["settings"]["usage_data_collection"] is False
    usage_rule = _category_json(sheet, "usage")["governed_by"][0]
    assert usage_rule["current"] == "Off"

    usage_rows = [row for row in _csv(signed_in.get(CSV_URL, {"tenant": "contoso"})) if row["Category"] == "Usage"]
    assert usage_rows
    for row in usage_rows:
        assert "Usage data collection (DisableAutomaticSendTracing): Off" in row["Governed by (current setting)"]


def test_retention_comes_from_the_tenants_fields_and_the_installation(client, hamlet, contoso, settings):
    Tenant.objects.filter(pk=contoso.pk).update(
        usage_retention_days=30, error_report_retention_days=400, erase_error_reports_on_opt_out=False
    )
    settings.TELEMETRY_CENSUS_RETENTION_DAYS = 90
    signed_in = _signed_in(client, hamlet)

    text = _text(signed_in.get(PAGE, {"tenant": "contoso"}))
    assert "Usage records: 30 days after the record's day" in text
    assert "Error reports: 400 days after the record's day" in text
    assert "Census records: 90 days after the record's day" in text
    assert "Record receipts (idempotency): 400 days" in text
    assert "Erase a user's error reports when they opt out: Off" in text

    sheet = signed_in.get(JSON_URL, {"tenant": "contoso"}).json()
    assert {
        key: sheet["retention"][key] for key in ("usage_days", "error_report_days", "census_days", "receipt_days")
    } == {
        "usage_days": 30,
        "error_report_days": 400,
        "census_days": 90,
        "receipt_days": 400,
    }
    assert sheet["settings"]["erase_error_reports_on_opt_out"] is False
    by_category = {category["category"]: category["retention_days"] for category in sheet["categories"]}
    assert by_category == {"census": 90, "usage": 30, "error": 400}

    rows = {(row["Category"], row["Field"]): row for row in _csv(signed_in.get(CSV_URL, {"tenant": "contoso"}))}
    assert rows[("Usage", "ims_sent")]["Retention (days)"] == "30"
    assert rows[("Error reports", "error_log")]["Retention (days)"] == "400"
    assert "an opt-out does not erase" in rows[("Error reports", "error_log")]["Kept for"]
    assert rows[("Census", "app_name")]["Retention (days)"] == "90"
    # The census id is not in the census row; its receipt lives as long as the longest retention.
    assert rows[("Census", "id")]["Retention (days)"] == "400"
    assert rows[("Census", "category")]["Retention (days)"] == ""


def test_opted_in_users_and_meeting_ux_per_pool_are_the_tenants(client, hamlet, contoso, contoso_pool, fabrikam):
    for number, opted_in in ((1, True), (2, True), (3, False)):
        EndUser.objects.create(
            tenant=contoso,
            user_hash=hash_user_id(f"user{number}", tenant_id=contoso.pk),
            error_reporting_opted_in=opted_in,
        )
    for number in range(5):
        EndUser.objects.create(
            tenant=fabrikam,
            user_hash=hash_user_id(f"user{number}", tenant_id=fabrikam.pk),
            error_reporting_opted_in=True,
        )
    scope = services.scope_parse(tenant=contoso, identity="Site:Redmond")
    services.web_service_configuration_set(
        tenant=contoso, scope=scope, meeting_ux_enable_telemetry=True, actor=COMMAND_ACTOR
    )

    sheet = _signed_in(client, hamlet).get(JSON_URL, {"tenant": "contoso"}).json()
    assert sheet["settings"]["users_opted_in_to_error_reporting"] == 2
    assert sheet["settings"]["meetings_app_telemetry"] == [
        {"pool": "pool01.contoso.com", "enabled": True, "decided_by": "Site:Redmond"}
    ]
    meeting_ux = _category_json(sheet, "error")["governed_by"][1]
    assert meeting_ux["current"] == "On for 1 of 1 pools"
    assert meeting_ux["detail"] == "pool01.contoso.com: On (Site:Redmond)"


def test_census_is_always_on_whatever_the_tenant_sets(client, hamlet, contoso):
    services.tenant_setting_set(tenant=contoso, setting=services.CLIENT_POLICY, value=True, actor=COMMAND_ACTOR)
    sheet = _signed_in(client, hamlet).get(JSON_URL, {"tenant": "contoso"}).json()
    (rule,) = _category_json(sheet, "census")["governed_by"]
    assert rule["current"] == "Always on"
    assert rule["detail"].startswith("Always on.")


# --- The exports ---------------------------------------------------------------------------------------


def test_the_csv_parses_and_has_a_row_per_field(client, hamlet, contoso):
    response = _signed_in(client, hamlet).get(CSV_URL, {"tenant": "contoso"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="datasheet-contoso-\d{4}-\d{2}-\d{2}\.csv"', response["Content-Disposition"]
    )
    body = response.content.decode()
    # csv.QUOTE_ALL: every cell quoted, the header's too.
    assert body.splitlines()[0] == ",".join(f'"{title}"' for title in CSV_HEADER)
    lines = list(csv.reader(io.StringIO(body)))
    assert lines[0] == list(CSV_HEADER)
    assert all(len(line) == len(CSV_HEADER) for line in lines)
    rows = _csv(response)
    assert len(rows) == FIELD_COUNT
    expected = [
        (Category(category).label, name) for category, model in RECORD_MODELS.items() for name in model.model_fields
    ]
    assert [(row["Category"], row["Field"]) for row in rows] == expected
    assert {row["Tenant"] for row in rows} == {"contoso"}
    assert {row["Stored as"] for row in rows} <= {kind.value for kind in StoredAs}


DOCUMENTED_KEYS = {
    "sheet": {"format", "version", "generated_at", "tenant", "settings", "retention", "categories"},
    "tenant": {"slug", "name"},
    "settings": {
        "usage_data_collection",
        "windows_crash_uploads",
        "meetings_app_telemetry",
        "users_opted_in_to_error_reporting",
        "erase_error_reports_on_opt_out",
        "summary",
    },
    "retention": {"usage_days", "error_report_days", "census_days", "receipt_days", "summary"},
    "category": {
        "category",
        "label",
        "notes",
        "retention_days",
        "kept_for",
        "visible_to",
        "governed_by",
        "also_stored",
        "fields",
    },
    "rule": {"clients", "setting", "current", "short", "detail"},
    "field": {
        "field",
        "required",
        "example",
        "example_text",
        "example_note",
        "stored_as",
        "how",
        "stored_example",
        "columns",
        "visible_to",
        "kept_for",
        "retention_days",
        "governed_by",
    },
    "visible_to": {"support_staff", "tenant_admin"},
}


def test_the_json_has_the_documented_shape(client, hamlet, contoso_pool):
    response = _signed_in(client, hamlet).get(JSON_URL, {"tenant": "contoso"})
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="datasheet-contoso-\d{4}-\d{2}-\d{2}\.json"', response["Content-Disposition"]
    )
    sheet = response.json()
    jsonschema.Draft202012Validator(closed(DataSheet.model_json_schema())).validate(sheet)
    # The shape as the module's docstring documents it, written out here so that a change is seen.
    assert set(sheet) == DOCUMENTED_KEYS["sheet"]
    assert (sheet["format"], sheet["version"]) == ("telemetry-portal.datasheet", 1)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", sheet["generated_at"])
    assert set(sheet["tenant"]) == DOCUMENTED_KEYS["tenant"]
    assert set(sheet["settings"]) == DOCUMENTED_KEYS["settings"]
    assert set(sheet["retention"]) == DOCUMENTED_KEYS["retention"]
    assert [category["category"] for category in sheet["categories"]] == ["census", "usage", "error"]
    for category in sheet["categories"]:
        assert set(category) == DOCUMENTED_KEYS["category"]
        assert set(category["visible_to"]) == DOCUMENTED_KEYS["visible_to"]
        assert all(set(rule) == DOCUMENTED_KEYS["rule"] for rule in category["governed_by"])
        assert [row["field"] for row in category["fields"]] == list(RECORD_MODELS[category["category"]].model_fields)
        for row in category["fields"]:
            assert set(row) == DOCUMENTED_KEYS["field"]
            assert set(row["visible_to"]) == DOCUMENTED_KEYS["visible_to"]
            assert row["example"] == DECLARATIONS[category["category"]][row["field"]].example
            assert row["stored_as"] in {kind.value for kind in StoredAs}


def test_the_json_is_the_same_sheet_as_the_page(client, hamlet, contoso):
    signed_in = _signed_in(client, hamlet)
    page_sheet = signed_in.get(PAGE, {"tenant": "contoso"}).context["sheet"]
    exported = DataSheet.model_validate_json(signed_in.get(JSON_URL, {"tenant": "contoso"}).content)
    assert exported.model_dump(exclude={"generated_at"}) == page_sheet.model_dump(exclude={"generated_at"})


# --- No cleartext user ID as stored data ---------------------------------------------------------------

CLEARTEXT = [
    DECLARATIONS[Category.ERROR]["user_id"].example,
    DECLARATIONS[Category.CENSUS]["user_id"].example,
    DECLARATIONS[Category.ERROR]["sip_uri"].example.removeprefix("sip:"),
    "203.0.113.7",
]


def test_no_cleartext_example_identifier_appears_as_stored_data(client, hamlet, contoso):
    signed_in = _signed_in(client, hamlet)

    sheet = signed_in.get(JSON_URL, {"tenant": "contoso"}).json()
    for category in sheet["categories"]:
        for row in category["fields"]:
            for value in CLEARTEXT:
                assert value.casefold() not in (row["stored_example"] or "").casefold(), (category["category"], row)
            if row["field"] in ("user_id", "sip_uri", "ip_address"):
                assert row["stored_as"] != "as sent"
                assert row["example_note"] == "Sent by the client; not stored as such."
                assert "never the value" in row["visible_to"]["support_staff"] or row["field"] == "ip_address"

    for row in _csv(signed_in.get(CSV_URL, {"tenant": "contoso"})):
        for value in CLEARTEXT:
            assert value.casefold() not in row["Stored example"].casefold()

    body = signed_in.get(PAGE, {"tenant": "contoso"}).content.decode()
    stored_cells = re.findall(r'<code class="datasheet-value stored-example">(.*?)</code>', body)
    assert len(stored_cells) >= 2  # the truncated network and the scrubbed texts at least
    for cell in stored_cells:
        for value in CLEARTEXT:
            assert value.casefold() not in html.unescape(cell).casefold()
    # The example column shows what a client sends, and says it is not kept as such.
    row = re.search(r'<tr id="field-error-user_id">.*?</tr>', body, flags=re.DOTALL).group(0)
    assert "amosmarble" in row
    assert "not stored as such" in row


# --- The policies page links to it ---------------------------------------------------------------------


def test_the_policies_page_links_to_the_data_sheet(client, hamlet, contoso):
    response = _signed_in(client, hamlet).get(reverse("admin:tenants_tenant_change", args=[contoso.pk]))
    assert response.status_code == 200
    assert f'href="{PAGE}?tenant=contoso">Data sheet</a>' in response.content.decode()


def _category(sheet, category):
    return next(item for item in sheet.categories if item.category == category)


def _category_json(sheet: dict, category: str) -> dict:
    return next(item for item in sheet["categories"] if item["category"] == category)

"""Record browser columns read in the portal's words: "OS name", "IMs sent", "IP network", never the
capitalized field names "Os name", "Ims sent", "Ip network", in the list, the detail page and the export."""

import re

import pytest
from django.urls import reverse

WRONG = ("Os name", "Ims sent", "Ims received", "Ip network")
RIGHT = ("OS name", "IMs sent", "IP network")


def _headers(html: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", header).strip()
        for header in re.findall(r"<th scope=\"col\"[^>]*>(.*?)</th>", html, re.S)
    ]


@pytest.fixture
def support_client(client, iago):
    client.force_login(iago)
    return client


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("errorreport", ["IP network"]),
        ("usagerecord", ["IMs sent", "IMs received", "Meeting joins attempted", "Call minutes"]),
        ("censusrecord", ["OS name"]),
    ],
)
def test_list_headers_use_the_portals_words(support_client, contoso_world, census_record, model, expected):
    response = support_client.get(reverse(f"admin:telemetry_{model}_changelist"))
    assert response.status_code == 200
    headers = _headers(response.text)
    for label in expected:
        assert label in headers
    assert not set(WRONG) & set(headers)


@pytest.mark.parametrize("model", ["errorreport", "usagerecord", "censusrecord"])
def test_detail_pages_and_exports_use_the_portals_words(support_client, contoso_world, census_record, model):
    record = {
        "errorreport": contoso_world.error_report,
        "usagerecord": contoso_world.usage_record,
        "censusrecord": census_record,
    }[model]
    detail = support_client.get(reverse(f"admin:telemetry_{model}_change", args=[record.pk])).text
    assert any(f">{label}:<" in detail for label in RIGHT)
    assert not [word for word in WRONG if f">{word}:<" in detail or f">{word}</label>" in detail]
    export = support_client.get(reverse(f"admin:telemetry_{model}_export"))
    if export.status_code == 200 and export.get("Content-Type", "").startswith("text/csv"):
        header = b"".join(export.streaming_content).decode().splitlines()[0]
        assert any(f'"{label}"' in header for label in RIGHT)
        assert not [word for word in WRONG if f'"{word}"' in header]

"""The data sheet of one tenant: the page and its CSV and JSON exports (telemetry/datasheet.py builds it).

A tenant admin sees their own tenant (another tenant's slug is a 404); support staff pick any tenant.

All three speak the reader's language: the sheet is built in the language of the request. The JSON's keys
and codes (categories, `stored_as`, field and column names, identities) stay as they are, so that a script
reads every language alike; its sentences are for the privacy officer who attaches it, in their language,
which the response's Content-Language names.
"""

import json
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from telemetry.csv_export import csv_attachment
from telemetry.datasheet import DataSheet, datasheet_csv_rows, datasheet_for
from tenants.models import Tenant
from tenants.scoping import admin_tenant_id
from tenants.selectors import tenant_for_viewer


def _tenant(request: HttpRequest) -> Tenant:
    return tenant_for_viewer(viewer=request.user, slug=request.GET.get("tenant", "").strip())


def _filename(sheet: DataSheet, extension: str) -> str:
    return f"datasheet-{sheet.tenant.slug}-{sheet.generated_at:%Y-%m-%d}.{extension}"


@never_cache
@login_required
@require_GET
def datasheet_view(request: HttpRequest) -> HttpResponse:
    tenant = _tenant(request)
    # A tenant admin sees one tenant: no picker; support staff and superusers pick any.
    tenants = None
    if admin_tenant_id(request.user) is None:
        tenants = list(Tenant.objects.visible_to(request.user).order_by("slug"))
    context = {
        **admin.site.each_context(request),
        "title": gettext("Data sheet: %(tenant)s") % {"tenant": tenant.name},
        "tenant": tenant,
        "tenants": tenants,
        "sheet": datasheet_for(tenant),
        "export_query": urlencode({"tenant": tenant.slug}),
    }
    return render(request, "dashboard/datasheet.html", context)


@never_cache
@login_required
@require_GET
def datasheet_csv_view(request: HttpRequest) -> HttpResponse:
    sheet = datasheet_for(_tenant(request))
    return csv_attachment(datasheet_csv_rows(sheet), filename=_filename(sheet, "csv"))


@never_cache
@login_required
@require_GET
def datasheet_json_view(request: HttpRequest) -> HttpResponse:
    sheet = datasheet_for(_tenant(request))
    body = json.dumps(sheet.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_filename(sheet, "json")}"'
    return response

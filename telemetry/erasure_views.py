"""Erasing one user's data from the portal (lifecycle.md, "Erasure of one user's data").

Three steps, all POST after the first: the user ID is typed (it travels only in a request body and is
hashed on arrival, as in the find-user form); a confirmation says what will be removed; the erasure
runs and its receipt is shown. The confirmation carries the pseudonyms, never the typed ID, so the ID
is in no page, URL or log. Tenant admins erase in their organization, superusers in the one they
choose; support staff, who never change anything, may not.
"""

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from telemetry.policy import erasure_words
from telemetry.pseudonymize import PSEUDONYMS_RE, SHOWN_HASH_LENGTH, mask_pseudonym, pseudonym_hash, user_pseudonyms
from telemetry.selectors import erasure_preview
from telemetry.services import end_user_erase
from tenants.forms import FindUserForm
from tenants.models import Tenant
from tenants.scoping import admin_tenant_id
from tenants.services import Actor

CONFIRM_FIELD = "_confirm_erasure"


def _may_erase(user) -> bool:
    return user.is_active and (user.is_superuser or admin_tenant_id(user) is not None)


def _context(request: HttpRequest, **extra) -> dict:
    return {**admin.site.each_context(request), "title": gettext("Erase a user's data"), **extra}


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def erase_view(request: HttpRequest) -> HttpResponse:
    if not _may_erase(request.user):
        raise PermissionDenied
    if request.method == "POST" and CONFIRM_FIELD in request.POST:
        return _erase(request)
    form = FindUserForm(request.POST if request.method == "POST" else None, viewer=request.user)
    if request.method == "GET" or not form.is_valid():
        return render(request, "dashboard/erase.html", _context(request, form=form), status=200)
    tenant = Tenant.objects.visible_to(request.user).get(pk=form.tenant_id())
    pseudonyms = user_pseudonyms(form.cleaned_data["user_id"], tenant_id=tenant.pk)
    preview = erasure_preview(tenant=tenant, pseudonyms=pseudonyms)
    return render(
        request,
        "dashboard/erase.html",
        _context(
            request,
            title=gettext("Erase this user's data?"),
            tenant=tenant,
            shown_user=mask_pseudonym(pseudonyms[0]),
            removes=erasure_words(preview),
            nothing_stored=not any(preview.values()),
            pseudonyms=",".join(pseudonyms),
            confirm_field=CONFIRM_FIELD,
        ),
    )


def _erase(request: HttpRequest) -> HttpResponse:
    pseudonyms = request.POST.get("pseudonyms", "")
    tenant = Tenant.objects.visible_to(request.user).filter(slug=request.POST.get("tenant", "")).first()
    if tenant is None or not PSEUDONYMS_RE.match(pseudonyms):
        messages.error(request, gettext("That erasure could not be confirmed; start again."))
        return HttpResponseRedirect(reverse("erase_end_user"))
    if admin_tenant_id(request.user) not in (None, tenant.pk):
        raise PermissionDenied
    erasure = end_user_erase(tenant=tenant, pseudonyms=pseudonyms.split(","), actor=Actor.for_user(request.user))
    receipt = erasure.receipt
    # The receipt's target is stored in English ("user 1f3a9c2e"); the message names the user in the
    # reader's language, by the same first characters of the pseudonym's hash.
    shown = pseudonym_hash(pseudonyms.split(",")[0])[:SHOWN_HASH_LENGTH]
    messages.success(
        request,
        gettext("Erased user %(user)s: %(removed)s. The receipt is in the audit log (%(created_at)s UTC).")
        % {
            "user": shown,
            "removed": erasure_words(erasure.removed),
            "created_at": date_format(receipt.created_at, "SHORT_DATETIME_FORMAT"),
        },
    )
    return HttpResponseRedirect(reverse("admin:tenants_auditlogentry_change", args=[receipt.pk]))

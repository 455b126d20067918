"""Erasing one user's data from the portal: type the ID, see what goes, confirm, read the receipt."""

import pytest
from django.urls import reverse

from telemetry.models import ErrorReport
from telemetry.pseudonymize import user_pseudonyms
from tenants import services
from tenants.models import AuditLogEntry, EndUser
from tests.admin.conftest import error_report_create
from tests.admin.test_find_user import assert_nowhere

TYPED_ID = "Amos.Marble@contoso.com"
URL = reverse("erase_end_user")


@pytest.fixture
def amos_reports(contoso_world, fabrikam_world):
    services.end_user_set_error_reporting(tenant=contoso_world.tenant, user_id=TYPED_ID, opted_in=True)
    mine = [error_report_create(tenant=contoso_world.tenant, pool=contoso_world.pool, user_id=TYPED_ID) for _ in "ab"]
    theirs = error_report_create(tenant=fabrikam_world.tenant, pool=fabrikam_world.pool, user_id=TYPED_ID)
    return mine, theirs


def test_a_tenant_admin_sees_what_goes_then_erases_and_reads_the_receipt(client, hamlet, contoso, amos_reports):
    mine, theirs = amos_reports
    client.force_login(hamlet)

    confirm = client.post(URL, {"user_id": f" {TYPED_ID} "})
    assert confirm.status_code == 200
    assert "2 error reports and 1 opt-in" in confirm.content.decode()
    assert TYPED_ID.casefold() not in confirm.content.decode().casefold()
    assert ErrorReport.objects.filter(pk__in=[r.pk for r in mine]).count() == 2  # nothing erased yet

    done = client.post(
        URL,
        {"tenant": "contoso", "pseudonyms": confirm.context["pseudonyms"], "_confirm_erasure": "yes"},
        follow=True,
    )

    assert done.status_code == 200
    assert not ErrorReport.objects.filter(pk__in=[r.pk for r in mine]).exists()
    assert ErrorReport.objects.filter(pk=theirs.pk).exists()  # the same ID in fabrikam is another person
    assert not EndUser.objects.filter(
        tenant=contoso, user_hash__in=user_pseudonyms(TYPED_ID, tenant_id=contoso.pk)
    ).exists()
    receipt = AuditLogEntry.objects.get(action="erase_end_user")
    assert (receipt.actor, receipt.actor_user, receipt.new_value) == (
        "hamlet",
        hamlet,
        {"error_reports": 2, "end_users": 1},
    )
    assert "Erased user" in done.content.decode()
    assert_nowhere(done, TYPED_ID)


def test_support_staff_may_not_erase(client, iago, amos_reports):
    before = ErrorReport.objects.count()
    client.force_login(iago)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"user_id": TYPED_ID, "tenant": "contoso"}).status_code == 403
    assert ErrorReport.objects.count() == before


def test_a_tenant_admin_cannot_erase_in_another_tenant(client, hamlet, amos_reports, fabrikam):
    before = ErrorReport.objects.filter(tenant=fabrikam).count()
    client.force_login(hamlet)
    pseudonyms = ",".join(user_pseudonyms(TYPED_ID, tenant_id=fabrikam.pk))

    client.post(URL, {"tenant": "fabrikam", "pseudonyms": pseudonyms, "_confirm_erasure": "yes"})

    assert ErrorReport.objects.filter(tenant=fabrikam).count() == before
    assert not AuditLogEntry.objects.filter(action="erase_end_user").exists()


@pytest.mark.parametrize("pseudonyms", ["", "amos", "abc:" + "0" * 64, "amos.marble@contoso.com"])
def test_a_confirmation_that_is_not_pseudonyms_erases_nothing(client, hamlet, amos_reports, pseudonyms):
    before = ErrorReport.objects.count()
    client.force_login(hamlet)
    response = client.post(URL, {"tenant": "contoso", "pseudonyms": pseudonyms, "_confirm_erasure": "yes"})
    assert response.status_code == 302
    assert ErrorReport.objects.count() == before
    assert not AuditLogEntry.objects.filter(action="erase_end_user").exists()


@pytest.mark.parametrize(("typed", "message"), [("", "Type the user ID to look up."), ("x" * 129, "at most 128")])
def test_a_bad_id_is_a_form_error_that_never_repeats_the_input(client, hamlet, amos_reports, typed, message):
    client.force_login(hamlet)
    response = client.post(URL, {"user_id": typed})
    assert response.status_code == 200
    assert message in response.content.decode()
    if typed:
        assert typed not in response.content.decode()


def test_the_end_user_list_offers_erasure_to_tenant_admins_only(client, hamlet, iago, amos_reports):
    changelist = reverse("admin:tenants_enduser_changelist")
    client.force_login(hamlet)
    assert URL in client.get(changelist).content.decode()
    client.force_login(iago)
    assert URL not in client.get(changelist).content.decode()

from django.db import transaction

from telemetry.policy import on_off
from tenants.management.base import PortalCommand, parse_bool
from tenants.services import CLIENT_POLICY, WATSON, PortalError, tenant_setting_set

NOTHING_TO_SET = "Give --disable-automatic-send-tracing, --windows-crash-uploads or both."


class Command(PortalCommand):
    help = (
        "Set-CsClientPolicy: DisableAutomaticSendTracing true stops usage data and error reporting "
        "for the whole organization; false (the default) collects them. --windows-crash-uploads sets "
        "the Windows Error Reporting (Watson) setting that Meetings App crash uploads follow."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--disable-automatic-send-tracing", help="true or false ($True / $False accepted)")
        parser.add_argument(
            "--windows-crash-uploads", help="true or false: Windows crash uploads from the Meetings App (Watson)"
        )

    def run(self, *, tenant, disable_automatic_send_tracing, windows_crash_uploads, **options):
        if disable_automatic_send_tracing is None and windows_crash_uploads is None:
            raise PortalError(NOTHING_TO_SET)
        # Both values are read before anything is written: a malformed one changes nothing.
        disabled = uploads = None
        if disable_automatic_send_tracing is not None:
            disabled = parse_bool(disable_automatic_send_tracing, option="--disable-automatic-send-tracing")
        if windows_crash_uploads is not None:
            uploads = parse_bool(windows_crash_uploads, option="--windows-crash-uploads")
        tenant = self.tenant(tenant)
        with transaction.atomic():
            if disabled is not None:
                tenant = tenant_setting_set(tenant=tenant, setting=CLIENT_POLICY, value=disabled, actor=self.actor)
            if uploads is not None:
                tenant = tenant_setting_set(tenant=tenant, setting=WATSON, value=uploads, actor=self.actor)
        if disabled is not None:
            state = on_off(tenant.usage_collection_enabled)
            self.line(f"DisableAutomaticSendTracing is {disabled}: usage data collection is {state} for {tenant.slug}.")
        if uploads is not None:
            state = on_off(tenant.watson_enabled)
            self.line(
                f"WindowsCrashUploads is {uploads}: Windows crash uploads from the Meetings App are {state} "
                f"for {tenant.slug}."
            )

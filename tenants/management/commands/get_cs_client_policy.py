from telemetry.vocabulary import GLOBAL_IDENTITY
from tenants.management.base import PortalCommand, format_list


class Command(PortalCommand):
    help = (
        "Get-CsClientPolicy: print the tenant's DisableAutomaticSendTracing and its Windows crash uploads "
        "(Watson) setting."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")

    def run(self, *, tenant, **options):
        tenant = self.tenant(tenant)
        row = {
            "Identity": GLOBAL_IDENTITY,
            "DisableAutomaticSendTracing": tenant.disable_automatic_send_tracing,
            "WindowsCrashUploads": tenant.watson_enabled,
        }
        self.line(format_list([row]))

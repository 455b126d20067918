from tenants.management.base import PortalCommand, parse_bool
from tenants.services import client_policy_set


class Command(PortalCommand):
    help = (
        "Set-CsClientPolicy: DisableAutomaticSendTracing true stops usage data and error reporting "
        "for the whole organization; false (the default) collects them."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument(
            "--disable-automatic-send-tracing", required=True, help="true or false ($True / $False accepted)"
        )

    def run(self, *, tenant, disable_automatic_send_tracing, **options):
        disabled = parse_bool(disable_automatic_send_tracing, option="--disable-automatic-send-tracing")
        tenant = client_policy_set(
            tenant=self.tenant(tenant), disable_automatic_send_tracing=disabled, actor=self.actor
        )
        state = "On" if tenant.usage_collection_enabled else "Off"
        self.line(f"DisableAutomaticSendTracing is {disabled}: usage data collection is {state} for {tenant.slug}.")

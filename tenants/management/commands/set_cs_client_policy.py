from telemetry.policy import on_off
from tenants.management.base import PortalCommand, parse_bool
from tenants.services import CLIENT_POLICY, tenant_setting_set


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
        tenant = tenant_setting_set(tenant=self.tenant(tenant), setting=CLIENT_POLICY, value=disabled, actor=self.actor)
        state = on_off(tenant.usage_collection_enabled)
        self.line(f"DisableAutomaticSendTracing is {disabled}: usage data collection is {state} for {tenant.slug}.")

from telemetry.vocabulary import GLOBAL_IDENTITY
from tenants.management.base import PortalCommand, parse_bool
from tenants.services import scope_parse, web_service_configuration_set


class Command(PortalCommand):
    help = (
        "Set-CsWebServiceConfiguration: set MeetingUxEnableTelemetry at a scope (Global, Site:<name>, "
        "Service:WebServer:<pool FQDN>), creating the scoped configuration if it does not exist."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--identity", default=GLOBAL_IDENTITY, help="the scope (default: Global)")
        parser.add_argument(
            "--meeting-ux-enable-telemetry", required=True, help="true or false ($True / $False accepted)"
        )

    def run(self, *, tenant, identity, meeting_ux_enable_telemetry, **options):
        enabled = parse_bool(meeting_ux_enable_telemetry, option="--meeting-ux-enable-telemetry")
        tenant = self.tenant(tenant)
        scope = scope_parse(tenant=tenant, identity=identity)
        web_service_configuration_set(tenant=tenant, scope=scope, meeting_ux_enable_telemetry=enabled, actor=self.actor)
        self.line(f"{scope.identity}: MeetingUxEnableTelemetry is {enabled}.")

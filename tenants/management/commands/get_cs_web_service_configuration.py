from tenants.management.base import PortalCommand, format_list
from tenants.selectors import web_service_configurations_ordered
from tenants.services import CONFIGURATION_MISSING, PortalError, scope_parse


class Command(PortalCommand):
    help = "Get-CsWebServiceConfiguration: print every configuration of a tenant (Global, sites, pools), or one."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--identity", default=None, help="one scope: Global, Site:<name>, Service:WebServer:<fqdn>")

    def run(self, *, tenant, identity, **options):
        tenant = self.tenant(tenant)
        configurations = web_service_configurations_ordered(tenant=tenant)
        if identity is not None:
            wanted = scope_parse(tenant=tenant, identity=identity).identity
            configurations = [c for c in configurations if c.identity == wanted]
            if not configurations:
                raise PortalError(CONFIGURATION_MISSING.format(tenant=tenant.slug, identity=wanted))
        rows = [
            {"Identity": c.identity, "MeetingUxEnableTelemetry": c.meeting_ux_enable_telemetry} for c in configurations
        ]
        self.line(format_list(rows))

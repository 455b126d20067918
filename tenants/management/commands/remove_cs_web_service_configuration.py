from tenants.management.base import PortalCommand
from tenants.services import scope_parse, web_service_configuration_remove


class Command(PortalCommand):
    help = "Remove-CsWebServiceConfiguration: remove a Site or Service configuration (Global cannot be removed)."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--identity", required=True, help="Site:<name> or Service:WebServer:<pool FQDN>")

    def run(self, *, tenant, identity, **options):
        tenant = self.tenant(tenant)
        scope = scope_parse(tenant=tenant, identity=identity)
        web_service_configuration_remove(tenant=tenant, scope=scope, actor=self.actor)
        self.line(f"Removed the web service configuration {scope.identity} of tenant {tenant.slug}.")

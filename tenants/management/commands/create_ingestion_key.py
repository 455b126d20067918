from tenants.management.base import PortalCommand
from tenants.services import ingestion_key_create


class Command(PortalCommand):
    help = "Issue a new ingestion key for a tenant; the key is printed once, as the last line."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--label", default="", help="what the key is for, e.g. 'branch office clients'")

    def run(self, *, tenant, label, **options):
        issued = ingestion_key_create(tenant=self.tenant(tenant), label=label, actor=self.actor)
        self.line(f"Ingestion key {issued.key} for tenant {tenant}, shown only once; store it now:")
        self.line(issued.secret)

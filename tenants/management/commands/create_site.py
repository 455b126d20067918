from tenants.management.base import PortalCommand
from tenants.services import site_create


class Command(PortalCommand):
    help = "Add a site to a tenant."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("name", help="the site's name, e.g. Redmond")

    def run(self, *, tenant, name, **options):
        site = site_create(tenant=self.tenant(tenant), name=name, actor=self.actor)
        self.line(f"Created site {site.name} in tenant {tenant}.")

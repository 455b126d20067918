from tenants.management.base import PortalCommand
from tenants.services import SITE_MISSING, PortalError, pool_create


class Command(PortalCommand):
    help = "Add a pool to a tenant, optionally in one of its sites."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("fqdn", help="the pool's fully qualified domain name, e.g. pool01.contoso.com")
        parser.add_argument("--site", default=None, help="the name of the site the pool belongs to")

    def run(self, *, tenant, fqdn, site, **options):
        tenant = self.tenant(tenant)
        site_obj = None
        if site is not None:
            site_obj = tenant.sites.filter(name=site).first()
            if site_obj is None:
                raise PortalError(SITE_MISSING.format(tenant=tenant.slug, name=site))
        pool = pool_create(tenant=tenant, fqdn=fqdn, site=site_obj, actor=self.actor)
        where = f" in site {site_obj.name}" if site_obj else ""
        self.line(f"Created pool {pool.fqdn}{where} in tenant {tenant.slug}.")

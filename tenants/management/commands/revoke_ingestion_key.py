from tenants.management.base import PortalCommand
from tenants.services import ingestion_key_revoke


class Command(PortalCommand):
    help = "Revoke a tenant's active ingestion key, named by the first characters of the key."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("prefix", help="the key's prefix as listed, e.g. tpk_AbCdEfGh")

    def run(self, *, tenant, prefix, **options):
        key = ingestion_key_revoke(tenant=self.tenant(tenant), prefix=prefix, actor=self.actor)
        self.line(f"Revoked ingestion key {key} of tenant {tenant}.")

from django.db import transaction

from tenants.management.base import PortalCommand
from tenants.services import ingestion_key_create, tenant_create


class Command(PortalCommand):
    help = (
        "Create a tenant with its Global web service configuration (MeetingUxEnableTelemetry False) "
        "and print its first ingestion key as the last line."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="lower-case letters, digits and hyphens, e.g. contoso")
        parser.add_argument("--name", required=True, help="the organization's display name")
        parser.add_argument("--domain", required=True, help="the organization's primary domain, e.g. contoso.com")

    def run(self, *, slug, name, domain, **options):
        # One transaction: a tenant without the key this command promises would be a half-done change.
        with transaction.atomic():
            tenant = tenant_create(slug=slug, name=name, domain=domain, actor=self.actor)
            issued = ingestion_key_create(tenant=tenant, actor=self.actor)
        self.line(f"Created tenant {tenant.slug} ({tenant.name}, {tenant.domain}).")
        self.line(f"Ingestion key {issued.key}, shown only once; store it now:")
        self.line(issued.secret)

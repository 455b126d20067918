import os

from tenants.management.base import PortalCommand
from tenants.models import PortalRole
from tenants.services import PortalError, portal_user_create

PASSWORD_MISSING = "A password is needed: give --password or set PORTAL_PASSWORD."  # noqa: S105 (a message, not a password)


class Command(PortalCommand):
    help = (
        "Create a sign-in of the web UI: --role tenant_admin --tenant <slug>, or --role support. "
        "The password comes from --password or the PORTAL_PASSWORD environment variable."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, help="tenant_admin or support")
        parser.add_argument("--tenant", default=None, help="the tenant a tenant admin administers")
        # The environment variable keeps the password out of the shell history and the process list.
        parser.add_argument("--password", default=None, help="the password (better: PORTAL_PASSWORD)")

    def run(self, *, username, role, tenant, password, **options):
        password = password or os.environ.get("PORTAL_PASSWORD", "")
        if not password:
            raise PortalError(PASSWORD_MISSING)
        tenant_obj = self.tenant(tenant) if tenant is not None else None
        portal_user_create(username=username, password=password, role=role, tenant=tenant_obj, actor=self.actor)
        label = PortalRole.Role(role).label  # valid: the service has checked it
        where = f" of tenant {tenant_obj.slug}" if tenant_obj else ""
        self.line(f"Created {label.lower()} {username}{where}.")

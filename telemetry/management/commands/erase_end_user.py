"""erase_end_user <tenant> --user <user id> (lifecycle.md, "Erasure of one user's data")."""

import os

from telemetry.policy import erasure_words
from telemetry.pseudonymize import user_pseudonyms
from telemetry.records import NAME
from telemetry.services import end_user_erase
from tenants.management.base import PortalCommand
from tenants.services import PortalError

USER_MISSING = "Give the user ID with --user or in the END_USER_ID environment variable."
USER_INVALID = "A user ID is 1 to {limit} characters."


class Command(PortalCommand):
    help = (
        "Erase one user of a tenant: every stored error report and their opt-in. Counts stay. Prints the "
        "receipt, which the audit log keeps; it never shows the user ID. The ID may come from END_USER_ID "
        "instead of --user, to keep it out of the process list."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--user", default=None, help="the user ID (or set END_USER_ID)")

    def run(self, *, tenant, user, **options):
        tenant = self.tenant(tenant)
        user_id = user if user is not None else os.environ.get("END_USER_ID")
        if user_id is None:
            raise PortalError(USER_MISSING)
        if not user_id.strip() or len(user_id) > NAME:
            raise PortalError(USER_INVALID.format(limit=NAME))
        erasure = end_user_erase(
            tenant=tenant, pseudonyms=user_pseudonyms(user_id, tenant_id=tenant.pk), actor=self.actor
        )
        receipt = erasure.receipt
        self.line(
            f"Erased {receipt.target} of {tenant.slug}: {erasure_words(erasure.removed)}. "
            f"Receipt #{receipt.pk} in the audit log, {receipt.created_at:%Y-%m-%d %H:%M} UTC."
        )

import os

from telemetry.names import fqdn_key
from telemetry.records import NAME
from tenants.management.base import PortalCommand, format_list
from tenants.selectors import effective_policy_of, end_user_find
from tenants.services import POOL_MISSING, PortalError

USER_INVALID = "A user ID is 1 to {limit} characters."


class Command(PortalCommand):
    help = (
        "What is collected for a pool and a user, category by category (census, usage, error reporting, "
        "the Meetings App, Windows crash uploads), and the rule and scope that decided it, as ingestion "
        "decides. The user ID may come from END_USER_ID instead of --user, to keep it out of the process list."
    )

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument("--pool", default=None, help="the pool FQDN hosting the meeting (default: Global)")
        parser.add_argument("--user", default=None, help="the user ID (or set END_USER_ID)")

    def run(self, *, tenant, pool, user, **options):
        tenant = self.tenant(tenant)
        found_pool = None
        if pool is not None:
            found_pool = tenant.pools.select_related("site").filter(fqdn=fqdn_key(pool)).first()
            if found_pool is None:
                raise PortalError(POOL_MISSING.format(tenant=tenant.slug, fqdn=pool))
        user_id = user if user is not None else os.environ.get("END_USER_ID")
        opted_in = None
        user_words = "none given"
        if user_id is not None:
            if not user_id.strip() or len(user_id) > NAME:
                raise PortalError(USER_INVALID.format(limit=NAME))
            end_user = end_user_find(tenant=tenant, user_id=user_id)
            # A user whose client never sent an opt-in has not opted in. The ID is never printed.
            opted_in = end_user is not None and end_user.error_reporting_opted_in
            if end_user is None:
                user_words = "unknown to the portal (has not opted in)"
            else:
                user_words = "opted in to error reporting" if opted_in else "has not opted in to error reporting"
        header = {
            "Tenant": tenant.slug,
            "Pool": found_pool.fqdn if found_pool is not None else "none (Global)",
            "User": user_words,
        }
        lines = effective_policy_of(tenant=tenant, pool=found_pool, user_opted_in=opted_in)
        rows = [
            {"Category": line.category, "Collected": line.collected_words, "Rule": line.rule, "DecidedBy": line.scope}
            for line in lines
        ]
        self.line(format_list([header, *rows]))

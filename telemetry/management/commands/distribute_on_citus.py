"""distribute_on_citus [--shard-count N]: distribute the portal's tables on a Citus cluster (README,
"Scaling out: Citus"; telemetry/citus.py says which table goes where and why a command).

Run after `migrate` on the coordinator, once the citus extension is created and the workers added.
Distributes what is not distributed yet, the rows already stored included, in one transaction, and
prints one line per table; a second run changes nothing.
"""

from django.db import DatabaseError

from telemetry.citus import CitusError, distribute
from tenants.management.base import PortalCommand
from tenants.services import PortalError

SHARD_COUNT_INVALID = "--shard-count must be between 1 and 64000."
CITUS_REFUSED = "Citus refused the distribution, nothing changed: {message}"


class Command(PortalCommand):
    help = "Distribute the tenant-owned tables by tenant, census by id, the topology as reference tables (Citus)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--shard-count",
            type=int,
            help="shards per distributed table (default: the cluster's citus.shard_count, 32)",
        )

    def run(self, *, shard_count, **options):
        if shard_count is not None and not 1 <= shard_count <= 64000:
            raise PortalError(SHARD_COUNT_INVALID)
        try:
            steps = distribute(shard_count=shard_count)
        except CitusError as error:
            raise PortalError(str(error)) from None
        except DatabaseError as error:
            # The server's own message (what Citus could not do); never the connection's details.
            diag = getattr(error.__cause__, "diag", None)
            if diag is None or not diag.message_primary:
                raise
            raise PortalError(CITUS_REFUSED.format(message=diag.message_primary)) from None
        for step in steps:
            self.line(f"{step.table}: {step.how}{' (already)' if step.done_before else ''}")

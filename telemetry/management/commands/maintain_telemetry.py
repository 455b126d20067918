"""maintain_telemetry [--loop]: the periodic maintenance of lifecycle.md.

Today it moves the staged census rows into the census table (census unlinkability); purging expired
records and preparing day partitions join it with the storage work (see the README). Idempotent and
safe to run every minute from cron or a systemd timer, or as one long-running `--loop` process.
"""

import time

from django.core.management.base import CommandError

from telemetry.maintenance import census_move_staged
from tenants.management.base import PortalCommand

LOOP_SECONDS = 60


class Command(PortalCommand):
    help = "The periodic maintenance: moves staged census rows into the census table. --loop repeats it every minute."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run every minute until stopped")
        parser.add_argument(
            "--every", type=int, default=LOOP_SECONDS, help=f"seconds between runs with --loop (default {LOOP_SECONDS})"
        )

    def run(self, *, loop: bool, every: int, **options):
        if every < 1:
            raise CommandError("--every must be at least 1 second.")
        while True:
            moved = census_move_staged()
            self.line(f"Census: moved {moved} staged row{'s' if moved != 1 else ''} into the census table.")
            if not loop:
                return
            time.sleep(every)

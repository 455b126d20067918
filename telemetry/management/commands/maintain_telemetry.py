"""maintain_telemetry [--loop]: the periodic maintenance of lifecycle.md.

Each run prepares the day partitions of the coming days (PostgreSQL), purges the expired records and
the receipts no record can need any more (purge_expired: on PostgreSQL whole day partitions are
dropped where every tenant's records of the day have expired), then moves the staged census rows into
the census table and adds them to the census sums (census unlinkability). It prints one line per
action. Idempotent and safe to run every minute from cron or a systemd timer, or as one long-running
`--loop` process.
"""

import time

from django.core.management.base import CommandError

from telemetry.maintenance import (
    CENSUS,
    ERROR_REPORTS,
    RECEIPTS,
    STAGED_CENSUS,
    USAGE,
    Purged,
    PurgeProgress,
    census_move_staged,
    prepare_day_partitions,
    purge_expired,
)
from telemetry.models import utc_today
from telemetry.partitions import is_partitioned
from tenants.management.base import PortalCommand

LOOP_SECONDS = 60

# Per purge action, how its line names what it deleted.
PURGE_LABELS = {
    USAGE: "Usage records",
    ERROR_REPORTS: "Error reports",
    STAGED_CENSUS: "Staged census rows",
    CENSUS: "Census records",
    RECEIPTS: "Record receipts",
}


class Progress:
    """Progress of long work in seed_demo's style: a bar redrawn in place on a terminal, a line per
    quarter otherwise. Not seed_demo's own class: the maintenance must not depend on the demo."""

    def __init__(self, stream, label: str):
        self.stream, self.label = stream, label
        self.interactive = hasattr(stream, "isatty") and stream.isatty()
        self.last_quarter = -1

    def update(self, done: int, total: int) -> None:
        total = max(total, done, 1)
        fraction = done / total
        if self.interactive:
            filled = int(fraction * 30)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}", ending="")
            if done >= total:
                self.stream.write("")
            self.stream.flush()
        elif int(fraction * 4) > self.last_quarter:
            self.last_quarter = int(fraction * 4)
            self.stream.write(f"{self.label}: {done:,}/{total:,}")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def purge_line(action: str, purged: Purged) -> str:
    """One action's line: "Usage records: deleted 12 expired rows of 2 tenants." and, on PostgreSQL,
    how many day partitions that took, and those left to the next run (a lock not had in time)."""
    label = PURGE_LABELS[action]
    if action == RECEIPTS:
        line = (
            f"{label}: deleted {_count(purged.rows, 'row')} older than the longest retention, "
            f"of {_count(purged.tenants, 'tenant')}"
        )
    elif action in (CENSUS, STAGED_CENSUS):
        line = f"{label}: deleted {_count(purged.rows, 'expired row')}"
    else:
        line = f"{label}: deleted {_count(purged.rows, 'expired row')} of {_count(purged.tenants, 'tenant')}"
    if purged.partitions:
        line += f", dropping {_count(purged.partitions, 'day partition')}"
    if purged.busy:
        line += (
            f"; {_count(len(purged.busy), 'expired day partition')} in use ({', '.join(purged.busy)}) "
            "could not be locked in time, the next run retries"
        )
    return line + "."


class Command(PortalCommand):
    help = (
        "The periodic maintenance: prepares the coming days' partitions (PostgreSQL), deletes expired records and "
        "the receipts they no longer need, then moves staged census rows into the census table. --loop repeats it "
        "every minute."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="run every minute until stopped")
        parser.add_argument(
            "--every", type=int, default=LOOP_SECONDS, help=f"seconds between runs with --loop (default {LOOP_SECONDS})"
        )

    def run(self, *, loop: bool, every: int, **options):
        if every < 1:
            raise CommandError("--every must be at least 1 second.")
        while True:
            if is_partitioned():
                prepared = prepare_day_partitions(today=utc_today())
                self.line(
                    f"Day partitions: prepared {_count(prepared, 'new day')} "
                    "(usage records, error reports, census records, record receipts)."
                )
            purged = purge_expired(today=utc_today(), progress=self._progress_of_this_run())
            for action, result in purged.items():
                self.line(purge_line(action, result))
            moved = census_move_staged()
            self.line(f"Census: moved {moved} staged row{'s' if moved != 1 else ''} into the census table.")
            if not loop:
                return
            time.sleep(every)

    def _progress_of_this_run(self) -> PurgeProgress:
        """Long work shows its progress as seed_demo does: redrawn on a terminal, by quarters otherwise."""
        bars: dict[str, Progress] = {}

        def progress(action: str, done: int, total: int) -> None:
            bar = bars.get(action)
            if bar is None:
                bar = bars[action] = Progress(self.stdout, f"{PURGE_LABELS[action]}: deleting expired rows")
            bar.update(done, total)

        return progress

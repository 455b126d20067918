"""The ingestion hot path in one process: CPU per 1000-record batch, split by phase, beside COPY.

    .venv/bin/python benchmarks/hot_path.py [--batches 100] [--warm-up 10] [--profile] [--no-gc-freeze]

Creates (drops first) its own PostgreSQL database (HOT_PATH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/portal_bench_hot_path), migrates it, makes the tenant, pools,
opted-in users and key of benchmarks/ingest.py, and posts that benchmark's realistic mixed batches
through the real WSGI application (portal.wsgi: middleware, key check, rate limit in Redis, parsing,
validation, decision, storage, response), one after another, in this process. No HTTP server and no
client threads: what is left is what a gunicorn worker spends on a batch, minus reading the socket.

It prints, per batch:
- this process's CPU (time.process_time) and the PostgreSQL backend's CPU (utime + stime of the
  connection's server process, /proc/<pid>/stat), and their wall-clock time;
- the same for the physical limit measured in the same run (before and after, averaged): the same rows
  COPYed by psycopg 3 into plain tables with the record tables' columns, a uuid key and no index;
- the CPU split by phase, this process's and the backend's (a second pass over other batches, with a
  timer around each phase's function; self time, so the phases add up to the whole; the timers cost
  a little; the backend's from /proc/<pid>/schedstat, to the nanosecond; a line per COPYed table);
- with --profile, cProfile's top functions of a third pass (by their own CPU time).

Figures are printed, never asserted: the machine is shared and noisy, so read the ratios.
"""

import argparse
import cProfile
import functools
import gc
import importlib
import io
import json
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import ingest  # noqa: E402 - benchmarks/ingest.py: the same set-up and the same batches

DATABASE_URL = os.environ.get("HOT_PATH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_hot_path")

# The phases, each the function (module, dotted attribute) whose self time it is; one missing from the
# code under test (renamed, not there yet, or gone) is left out, so that a phase keeps its label across
# versions of the code: an older one is measured beside a newer one. Order: as a batch meets them.
PHASES = [
    ("key check", "telemetry.api", "ingestion_key_authenticate"),
    ("rate limit", "telemetry.api", "rate_limit_hit"),
    ("read + parse body", "telemetry.api", "_json_body"),
    ("read + parse + validate body", "telemetry.api", "_read_batch"),
    ("envelope + record validation", "telemetry.services", "_validate"),
    ("  hash user ids", "telemetry.pseudonymize", "BatchHasher.user_pseudonyms"),
    ("  hash user ids", "telemetry.services", "user_pseudonyms"),
    ("day partitions", "telemetry.services", "ensure_batch_partitions"),
    ("policy lock", "telemetry.services", "policy_lock"),
    ("facts", "telemetry.services", "_gather_facts"),
    ("decide + results (glue)", "telemetry.services", "_store"),
    ("  census rows", "telemetry.services", "_Pseudonymizer.census_row"),
    ("  usage rows", "telemetry.services", "_Pseudonymizer.usage_row"),
    ("  error rows", "telemetry.services", "_Pseudonymizer.error_row"),
    ("    scrub", "telemetry.services", "scrub_texts"),
    ("    hash SIP / census ids", "telemetry.pseudonymize", "BatchHasher.sip_uri"),
    ("    hash SIP / census ids", "telemetry.pseudonymize", "BatchHasher.census_user_id"),
    ("    hash SIP / census ids", "telemetry.services", "hash_sip_uri"),
    ("    hash SIP / census ids", "telemetry.services", "hash_census_user_id"),
    ("    truncate IP", "telemetry.services", "truncate_ip"),
    ("  count rows", "telemetry.services", "_count_rows"),
    ("receipt claim", "telemetry.storage", "PostgresStorage.claim"),
    ("COPY records", "telemetry.storage", "PostgresStorage.insert"),
    ("  COPY {table}", "telemetry.storage", "copy_rows"),  # one line per table
    ("count upserts", "telemetry.storage", "PostgresStorage.add_counts"),
    ("response body", "telemetry.schemas", "BatchAnswer.json"),
    ("response body", "telemetry.services", "batch_response"),
    ("response body", "telemetry.api", "json_response"),
    ("ingest_batch rest (transaction, commit)", "telemetry.services", "ingest_batch_answer"),
    ("ingest_batch rest (transaction, commit)", "telemetry.services", "ingest_batch"),
    ("view rest", "telemetry.api", "telemetry_submit"),
    ("Django + middleware rest", "portal.wsgi", "application.__call__"),
]


# Phases run once per record, which touch no database.
PER_RECORD = {
    "  hash user ids",
    "  census rows",
    "  usage rows",
    "  error rows",
    "    scrub",
    "    hash SIP / census ids",
    "    truncate IP",
}


class PhaseTimers:
    """Self time per phase, of this process and of the PostgreSQL backend serving it: a stack of
    running timers, each pausing its caller's."""

    def __init__(self, backend_pid: int):
        self.backend_pid = backend_pid
        self.seconds: dict[str, float] = {}
        self.backend_seconds: dict[str, float] = {}
        self.stack: list[list] = []  # [label, started, children's seconds, backend started, children's]

    def wrap(self, label: str, function):
        if label in PER_RECORD:
            # Called per record, and never on the database: its backend time is not read (the read
            # would cost this process more than the function).
            def backend_clock():
                return 0.0
        else:

            def backend_clock():
                return backend_cpu_precise(self.backend_pid)

        @functools.wraps(function)
        def timed(*args, **kwargs):
            name = label.format(table=args[1]) if "{table}" in label else label
            frame = [name, time.process_time(), 0.0, backend_clock(), 0.0]
            self.stack.append(frame)
            try:
                return function(*args, **kwargs)
            finally:
                backend = backend_clock() - frame[3]
                elapsed = time.process_time() - frame[1]
                self.stack.pop()
                name = frame[0]
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - frame[2]
                self.backend_seconds[name] = self.backend_seconds.get(name, 0.0) + backend - frame[4]
                if self.stack:
                    self.stack[-1][2] += elapsed
                    self.stack[-1][4] += backend

        timed.__wrapped_phase__ = True
        return timed


def install_timers(timers: PhaseTimers) -> list:
    """Wrap every phase's function where the code under test looks it up; returns how to undo it."""
    undo = []
    for label, module_name, dotted in PHASES:
        module = importlib.import_module(module_name)
        *owner_path, name = dotted.split(".")
        owner = module
        try:
            for part in owner_path:
                owner = getattr(owner, part)
            original = getattr(owner, name) if name != "__call__" else owner
        except AttributeError:
            continue
        if name == "__call__":
            # The WSGI application object: wrapped where the benchmark calls it.
            wrapped = timers.wrap(label, original)
            setattr(module, owner_path[-1], wrapped)
            undo.append((module, owner_path[-1], original))
            continue
        wrapped = timers.wrap(label, original)
        setattr(owner, name, wrapped)
        undo.append((owner, name, original))
        # Tables of functions (a dispatch dict) hold the original: point them at the timer too.
        for table in vars(module).values():
            if isinstance(table, dict):
                for key, value in list(table.items()):
                    if value is original:
                        table[key] = wrapped
                        undo.append((table, key, original))
    return undo


def uninstall(undo: list) -> None:
    for owner, name, original in reversed(undo):
        if isinstance(owner, dict):
            owner[name] = original
        else:
            setattr(owner, name, original)


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backend_cpu_precise(pid: int) -> float:
    """A process's CPU time to the nanosecond (/proc/<pid>/schedstat: time on a CPU), where /proc's
    stat counts clock ticks (10 ms): fine enough to split a backend's CPU by phase."""
    with open(f"/proc/{pid}/schedstat") as schedstat:
        return int(schedstat.read().split(maxsplit=1)[0]) / 1e9


def django_backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def post(key: str, body: bytes) -> dict:
    """One request through the WSGI application, as gunicorn's worker hands it over."""
    from portal import wsgi

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/telemetry",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {key}",
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    status = []
    chunks = wsgi.application(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        payload = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    if not status[0].startswith("200"):
        raise SystemExit(f"a batch failed: {status[0]} {payload[:300]!r}")
    return json.loads(payload)


def run_portal(key: str, bodies: list[bytes]) -> tuple[float, float, float, dict]:
    """(process CPU, backend CPU, wall) per batch, and the outcomes summed."""
    pid = django_backend_pid()
    totals = {"accepted": 0, "dropped": 0, "rejected": 0, "duplicates": 0}
    cpu, database, wall = time.process_time(), backend_cpu(pid), time.perf_counter()
    for body in bodies:
        answer = post(key, body)
        for name in totals:
            totals[name] += answer[name]
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    database = backend_cpu(pid) - database
    if django_backend_pid() != pid:
        raise SystemExit("the database connection was reopened during the run: its CPU is not all counted")
    return cpu / len(bodies), database / len(bodies), wall / len(bodies), totals


PLAIN_PREFIX = "bench_plain_"


def plain_tables() -> dict[str, tuple[str, tuple, list]]:
    """Per category: a plain table with the record table's stored columns (its uuid key among them),
    no constraint, no index, no default; the columns; their COPY types."""
    from django.db import connection

    from telemetry import storage

    tables = {}
    with connection.cursor() as cursor:
        for category, (model, columns) in storage.RECORD_TABLES.items():
            table = f"{PLAIN_PREFIX}{category}"
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"CREATE TABLE {table} AS SELECT {', '.join(columns)} FROM {model._meta.db_table} WITH NO DATA"
            )
            tables[category] = (table, columns, storage.column_types(model, columns))
    return tables


def run_baseline(batches: list[list[dict]], tables: dict) -> tuple[float, float, float]:
    """The physical limit: each batch's rows (prepared beforehand) COPYed into the plain tables and
    committed, by psycopg 3 on a connection of its own. (process CPU, backend CPU, wall) per batch."""
    import psycopg

    from telemetry.storage import copy_rows

    prepared = [ingest.stored_rows([batch]) for batch in batches]
    with psycopg.connect(DATABASE_URL) as connection:
        pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        connection.commit()
        cpu, database, wall = time.process_time(), backend_cpu(pid), time.perf_counter()
        for rows in prepared:
            with connection.cursor() as cursor:
                for category, (table, columns, types) in tables.items():
                    copy_rows(cursor, table, columns, rows[category], types=types)
            connection.commit()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        database = backend_cpu(pid) - database
    return cpu / len(batches), database / len(batches), wall / len(batches)


def ms(seconds: float) -> str:
    return f"{1000 * seconds:6.1f} ms"


def print_phases(key: str, bodies: list[bytes]) -> None:
    """The timed pass: CPU per batch by phase, self time, of this process and of its backend."""
    pid = django_backend_pid()
    timers = PhaseTimers(pid)
    undo = install_timers(timers)
    started, backend_started = time.process_time(), backend_cpu_precise(pid)
    try:
        for body in bodies:
            post(key, body)
    finally:
        uninstall(undo)
    total = (time.process_time() - started) / len(bodies)
    backend_total = (backend_cpu_precise(pid) - backend_started) / len(bodies)
    print(
        f"\nCPU per batch by phase (self time; timed pass {ms(total).strip()} this process, "
        f"{ms(backend_total).strip()} PostgreSQL):"
    )
    print(f"  {'':44} {'process':>9}        {'PostgreSQL':>9}")
    accounted = backend_accounted = 0.0
    labels = []
    for label in dict.fromkeys(label for label, _, _ in PHASES):
        if "{table}" in label:  # one line per table, in the order they were met
            prefix = label.split("{table}")[0]
            labels += [name for name in timers.seconds if name.startswith(prefix) and name not in labels]
        else:
            labels.append(label)
    for label in labels:
        if label in timers.seconds:
            seconds = timers.seconds[label] / len(bodies)
            backend = timers.backend_seconds[label] / len(bodies)
            accounted += seconds
            backend_accounted += backend
            print(
                f"  {label:44} {ms(seconds)}  {100 * seconds / total:4.0f}%  {ms(backend)}  "
                f"{100 * backend / backend_total:4.0f}%"
            )
    rest, backend_rest = total - accounted, backend_total - backend_accounted
    print(
        f"  {'outside the application (this loop)':44} {ms(rest)}  {100 * rest / total:4.0f}%  "
        f"{ms(backend_rest)}  {100 * backend_rest / backend_total:4.0f}%"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=100, help="batches per measured pass (default 100)")
    parser.add_argument("--warm-up", type=int, default=10, help="batches posted first, not measured (default 10)")
    parser.add_argument("--profile", action="store_true", help="a third pass under cProfile: its top functions")
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="leave out the gc.freeze() that gunicorn.conf.py does once the application is loaded",
    )
    args = parser.parse_args()

    ingest.DATABASE_URL = DATABASE_URL
    ingest.configure_environment()
    print(f"database {DATABASE_URL}; {os.cpu_count()} CPUs; {args.batches} batches of {ingest.BATCH} per pass")
    ingest.recreate_database()
    key = ingest.set_up_tenant()
    passes = 3 if args.profile else 2
    batches = ingest.make_batches(args.warm_up + passes * args.batches)
    bodies = [json.dumps({"records": batch}).encode() for batch in batches]
    print(f"batches of {sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB each")
    warm_up, bodies = bodies[: args.warm_up], bodies[args.warm_up :]
    measured, timed, profiled = (bodies[i * args.batches : (i + 1) * args.batches] for i in range(3))

    tables = plain_tables()
    baseline_batches = batches[args.warm_up : args.warm_up + args.batches]
    before = run_baseline(baseline_batches, tables)
    if not args.no_gc_freeze:
        # As gunicorn.conf.py does in the master once the application is loaded: the workers'
        # collections skip what was there before the first request.
        importlib.import_module("portal.wsgi")
        gc.freeze()
    for body in warm_up:
        post(key, body)
    cpu, database, wall, totals = run_portal(key, measured)
    after = run_baseline(baseline_batches, tables)
    base_cpu, base_database, base_wall = ((b + a) / 2 for b, a in zip(before, after, strict=True))

    print(f"outcomes of the measured pass: {totals}")
    print(f"{'per batch':34} {'portal':>9} {'COPY limit':>10}   ratio")
    for label, portal, limit in (
        ("this process's CPU", cpu, base_cpu),
        ("PostgreSQL backend's CPU", database, base_database),
        ("CPU in all", cpu + database, base_cpu + base_database),
        ("wall clock", wall, base_wall),
    ):
        print(f"{label:34} {ms(portal)} {ms(limit)}   {portal / limit:5.1f} x")
    print(f"(COPY limit's CPU per batch: {ms(sum(before[:2])).strip()} before, {ms(sum(after[:2])).strip()} after)")

    print_phases(key, timed)

    if args.profile:
        # CPU time, not wall-clock time: on a shared machine a function's share is then its own work,
        # not the time the process waited for a core or for PostgreSQL.
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for body in profiled:
            post(key, body)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).sort_stats("tottime")
        stats.print_stats(30)
        print(f"\ncProfile, {len(profiled)} batches, top functions by own time:")
        print(out.getvalue())

    from django.db import connection

    connection.close()
    name = urlsplit(DATABASE_URL).path.lstrip("/")
    print(f"(database {name} kept; the next run drops it)")


if __name__ == "__main__":
    main()

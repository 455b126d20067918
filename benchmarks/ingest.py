"""Ingestion end to end: gunicorn on PostgreSQL, client threads posting batches of 1000 records.

    .venv/bin/python benchmarks/ingest.py [--batches 120] [--seconds 60] [--workers 3] [--threads 6]

Creates (drops first) its own database (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/portal_bench_ingest), migrates it, makes a tenant with pools and a
key through the services, starts `gunicorn portal.wsgi`, and posts realistic mixed batches (census,
usage and error reports from several clients; some dropped by policy, a few rejected) over loopback.

It prints records/s end to end beside two references measured in the same run on the same rows:
- the ceiling: psycopg 3 COPY of the stored rows straight into equivalent tables (target: >= 40%);
- row-by-row ORM saves (Model.objects.create) of the same records;
and the peak resident memory of the gunicorn processes.
"""

import argparse
import datetime as dt
import http.client
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_ingest")
BATCH = 1000
CLIENTS = ["desktop", "desktop", "desktop", "mobile", "web", "meetings_app", "join_launcher"]
POOLS = ["pool01.contoso.com", "pool02.contoso.com", "pool03.contoso.com"]
PARTNERS = ["fabrikam.com", "microsoft.com", "litware.com", "", ""]
USERS = [f"user{n:04d}@contoso.com" for n in range(500)]


def configure_environment() -> None:
    os.environ.update(
        # Persistent connections, as production should run: a new connection per request costs a
        # backend fork and re-creating the session's receipt staging table.
        DATABASE_URL=f"{DATABASE_URL}?conn_max_age=600&conn_health_checks=true",
        # The rate limit shared by the workers, as in production.
        CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3"),
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        TELEMETRY_HASH_KEY=secrets.token_urlsafe(48),
        TELEMETRY_RATE_LIMIT="100000000",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )


def recreate_database() -> None:
    import psycopg

    parts = urlsplit(DATABASE_URL)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)


def set_up_tenant() -> str:
    """A tenant with three pools (one with Meetings App telemetry on), opted-in users, and a key."""
    import django

    django.setup()
    from tenants import services

    actor = services.Actor.for_command("benchmark")
    tenant = services.tenant_create(slug="contoso", name="Contoso", domain="contoso.com", actor=actor)
    site = services.site_create(tenant=tenant, name="Redmond", actor=actor)
    for fqdn in POOLS:
        services.pool_create(tenant=tenant, fqdn=fqdn, site=site, actor=actor)
    scope = services.scope_parse(tenant=tenant, identity=f"Service:WebServer:{POOLS[0]}")
    services.web_service_configuration_set(tenant=tenant, scope=scope, meeting_ux_enable_telemetry=True, actor=actor)
    for user in USERS[::2]:
        services.end_user_set_error_reporting(tenant=tenant, user_id=user, opted_in=True)
    return services.ingestion_key_create(tenant=tenant, actor=actor).secret


def make_record(rng: random.Random, day: dt.date) -> dict:
    kind = rng.choices(["census", "usage", "error"], weights=[3, 5, 2])[0]
    timestamp = f"{day.isoformat()}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z"
    base = {"id": str(uuid.uuid4()), "category": kind, "client": rng.choice(CLIENTS), "timestamp": timestamp}
    if kind == "census":
        return base | {
            "app_name": rng.choice(["Skype", "iPhoneSkype", "AndroidLync"]),
            "device_model": rng.choice(["iPhone", "Surface Pro", "Pixel 8"]),
            "os_name": rng.choice(["Windows", "iPhoneiOS", "Android"]),
            "os_version": rng.choice(["10.0", "8.3", "14"]),
            "user_language": rng.choice(["EN-US", "DE-DE", "FR-FR"]),
            "user_id": str(uuid.UUID(int=rng.getrandbits(128))).upper(),
            "device_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "sign_in_attempts": rng.randrange(5),
            "sign_in_failures": rng.randrange(2),
        }
    if kind == "usage":
        record = base | {
            "pool": rng.choice(POOLS),
            "ims_sent": rng.randrange(100),
            "ims_received": rng.randrange(100),
            "meeting_join_attempts": rng.randrange(6),
            "meeting_join_successes": rng.randrange(5),
            "call_minutes": rng.randrange(120),
        }
        partner = rng.choice(PARTNERS)
        if partner:
            record["federation_partner"] = partner
        if rng.random() < 0.01:
            record["ims_sent"] = -1  # a few malformed records get rejected
        return record
    user = rng.choice(USERS)
    return base | {
        "pool": rng.choice(POOLS),
        "user_id": user,
        "message_direction": rng.choice(["incoming", "outgoing"]),
        "conversation_state": rng.choice(["idle", "active", "ended"]),
        "conversation_thread_id": secrets.token_urlsafe(20),
        "error_code": rng.choice(["SIGNIN_TIMEOUT", "MEDIA_FAILED", "NETWORK_LOST", "CERT_INVALID"]),
        "error_log": "stack trace line\n" * rng.randrange(1, 20),
        "ip_address": f"203.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "sip_uri": f"sip:{user}",
    }


def make_batches(count: int) -> list[list[dict]]:
    rng = random.Random(7)
    today = dt.datetime.now(dt.UTC).date()
    return [[make_record(rng, today - dt.timedelta(days=rng.randrange(7))) for _ in range(BATCH)] for _ in range(count)]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "portal.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/openapi.json")
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def process_tree(root_pid: int) -> list[int]:
    pids = [root_pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == root_pid:
                pids.append(int(entry.name))
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def postgres_backends() -> list[int]:
    """The server processes of the benchmark's database (persistent connections of the workers)."""
    import psycopg

    name = urlsplit(DATABASE_URL).path.lstrip("/")
    with psycopg.connect(DATABASE_URL) as connection:
        rows = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
    return [row[0] for row in rows]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler(threading.Thread):
    def __init__(self, root_pid: int):
        super().__init__(daemon=True)
        self.root_pid = root_pid
        self.peak_total = 0
        self.peak_single = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            pids = process_tree(self.root_pid)
            self.peak_total = max(self.peak_total, sum(rss_kib(pid) for pid in pids))
            self.peak_single = max(self.peak_single, *(rss_kib(pid, "VmHWM") for pid in pids))
            time.sleep(0.1)


def post_all(port: int, key: str, bodies: list[bytes], threads: int, seconds: float) -> tuple[int, int, float, dict]:
    """Post the bodies from several threads until done or out of time; (batches, records, elapsed, totals)."""
    lock = threading.Lock()
    queue = list(reversed(bodies))
    totals = {"accepted": 0, "dropped": 0, "rejected": 0, "duplicates": 0}
    done = [0]
    failures = []
    started = time.monotonic()

    def worker():
        while True:
            with lock:
                if not queue or time.monotonic() - started > seconds:
                    return
                body = queue.pop()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            connection.request(
                "POST",
                "/api/v1/telemetry",
                body=body,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
            )
            response = connection.getresponse()
            payload = response.read()
            connection.close()
            with lock:
                if response.status != 200:
                    failures.append((response.status, payload[:200]))
                    continue
                answer = json.loads(payload)
                for name in totals:
                    totals[name] += answer[name]
                done[0] += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.monotonic() - started
    if failures:
        raise SystemExit(f"{len(failures)} batches failed, e.g. {failures[0]}")
    return done[0], done[0] * BATCH, elapsed, totals


def stored_rows(batches: list[list[dict]]) -> dict[str, list[tuple]]:
    """The rows ingestion would store for these records (every record, as if all were accepted)."""
    from telemetry.pseudonymize import hash_census_user_id, hash_sip_uri, hash_user_id, truncate_ip

    rows = {"census": [], "usage": [], "error": []}
    for batch in batches:
        for r in batch:
            timestamp = dt.datetime.fromisoformat(r["timestamp"])
            day = timestamp.date()
            if r["category"] == "census":
                rows["census"].append(
                    (
                        *(uuid.uuid4(), day, timestamp, r["client"], r["app_name"], r["device_model"], r["os_name"]),
                        *(
                            r["os_version"],
                            r["user_language"],
                            hash_census_user_id(r["user_id"]),
                            uuid.UUID(r["device_id"]),
                        ),
                        *(r["sign_in_attempts"], r["sign_in_failures"]),
                    )
                )
            elif r["category"] == "usage":
                rows["usage"].append(
                    (
                        *(
                            1,
                            1,
                            uuid.UUID(r["id"]),
                            day,
                            timestamp,
                            r["client"],
                            max(r["ims_sent"], 0),
                            r["ims_received"],
                        ),
                        *(r["meeting_join_attempts"], r["meeting_join_successes"], r["call_minutes"]),
                        r.get("federation_partner", ""),
                    )
                )
            else:
                rows["error"].append(
                    (
                        *(
                            1,
                            1,
                            uuid.UUID(r["id"]),
                            day,
                            timestamp,
                            r["client"],
                            hash_user_id(r["user_id"], tenant_id=1),
                        ),
                        *(r["message_direction"], r["conversation_state"], r["conversation_thread_id"]),
                        *(
                            r["error_code"],
                            r["error_log"],
                            truncate_ip(r["ip_address"]),
                            hash_sip_uri(r["sip_uri"], tenant_id=1),
                        ),
                        *("", False),
                    )
                )
    return rows


def copy_ceiling(batches: list[list[dict]]) -> float:
    """records/s of psycopg 3 COPY of the stored rows into equivalent tables (same columns and indexes)."""
    import psycopg

    from telemetry import storage

    tables = storage.RECORD_TABLES
    types = {category: storage.column_types(model, columns) for category, (model, columns) in tables.items()}
    with psycopg.connect(DATABASE_URL) as connection:
        for model, _ in tables.values():
            source = model._meta.db_table
            connection.execute(f"DROP TABLE IF EXISTS bench_{source}")
            connection.execute(f"CREATE TABLE bench_{source} (LIKE {source} INCLUDING ALL)")
        connection.commit()
        # The rows are prepared per batch (pseudonyms included), as ingestion prepares them.
        started = time.monotonic()
        for batch in batches:
            rows = stored_rows([batch])
            with connection.cursor() as cursor:
                for category, (model, columns) in tables.items():
                    table = f"bench_{model._meta.db_table}"
                    storage.copy_rows(cursor, table, columns, rows[category], types=types[category])
            connection.commit()
        elapsed = time.monotonic() - started
        for model, _ in tables.values():
            connection.execute(f"DROP TABLE bench_{model._meta.db_table}")
    return sum(len(batch) for batch in batches) / elapsed


def orm_rate(batches: list[list[dict]]) -> float:
    """records/s of row-by-row ORM saves (one INSERT and commit per record) of the same rows."""
    from telemetry import storage
    from tenants.models import Pool

    pool = Pool.objects.all_tenants().first()
    models = storage.RECORD_TABLES
    records = 0
    started = time.monotonic()
    for batch in batches:
        rows = stored_rows([batch])
        for category, (model, columns) in models.items():
            for row in rows[category]:
                values = dict(zip(columns, row, strict=True))
                if "tenant_id" in values:
                    values.update(tenant_id=pool.tenant_id, pool_id=pool.pk)
                model.objects.create(**values)
                records += 1
    return records / (time.monotonic() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300, help="batches of 1000 records to post (default 300)")
    parser.add_argument("--seconds", type=float, default=90, help="stop posting after this long (default 90)")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers (default 2 x CPUs + 1)"
    )
    parser.add_argument("--threads", type=int, default=0, help="client threads (default 2 x workers)")
    parser.add_argument("--orm-batches", type=int, default=3, help="batches saved row by row (default 3)")
    args = parser.parse_args()
    # Enough requests in flight that a worker waiting for PostgreSQL never leaves a CPU idle.
    args.threads = args.threads or 2 * args.workers

    configure_environment()
    print(f"database {DATABASE_URL}; {os.cpu_count()} CPUs; {args.workers} gunicorn workers; {args.threads} threads")
    recreate_database()
    key = set_up_tenant()
    batches = make_batches(args.batches)
    bodies = [json.dumps({"records": batch}).encode() for batch in batches]
    print(f"{len(bodies)} batches of {BATCH} records, {sum(map(len, bodies)) / len(bodies) / 1024:.0f} KiB each")

    # The ceiling is measured before and after the end-to-end run and averaged, so that a change in
    # the machine's load during the run does not favour either side.
    ceiling_before = copy_ceiling(batches)
    port = free_port()
    server = start_gunicorn(port, args.workers)
    sampler = MemorySampler(server.pid)
    sampler.start()
    client_cpu = time.process_time()
    start_cpu = cpu_seconds(process_tree(server.pid))  # start-up and imports are not ingestion
    try:
        posted, records, elapsed, totals = post_all(port, key, bodies, args.threads, args.seconds)
        client_cpu = time.process_time() - client_cpu
        # Where the CPU went (the server processes of the workers' persistent connections included).
        server_cpu = cpu_seconds(process_tree(server.pid)) - start_cpu
        database_cpu = cpu_seconds(postgres_backends())
    finally:
        sampler.running = False
        sampler.join()
        server.terminate()
        server.wait(timeout=30)
    end_to_end = records / elapsed
    print(f"end to end:  {end_to_end:10.0f} records/s  ({posted} batches in {elapsed:.1f} s; {totals})")

    print(
        f"CPU per batch: gunicorn {1000 * server_cpu / posted:.0f} ms, PostgreSQL backends "
        f"{1000 * database_cpu / posted:.0f} ms, client {1000 * client_cpu / posted:.0f} ms"
    )
    ceiling_after = copy_ceiling(batches)
    ceiling = (ceiling_before + ceiling_after) / 2
    print(
        f"COPY ceiling: {ceiling:9.0f} records/s  (before {ceiling_before:.0f}, after {ceiling_after:.0f})"
        f"  -> end to end is {100 * end_to_end / ceiling:.0f}% of it"
    )
    orm = orm_rate(batches[: args.orm_batches])
    print(f"ORM row by row: {orm:7.0f} records/s  -> end to end is {end_to_end / orm:.1f}x that")
    print(
        f"gunicorn peak RSS: {sampler.peak_total / 1024:.0f} MiB all processes, "
        f"{sampler.peak_single / 1024:.0f} MiB the largest process"
    )


if __name__ == "__main__":
    main()

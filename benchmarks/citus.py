"""Ingestion end to end on Citus (a coordinator and two workers) beside plain PostgreSQL in the same run,
then one large tenant moved to a shard of its own while its batches keep arriving.

    scripts/citus-rehearsal --keep -- tests/citus    # the clusters, kept up (their ports in /tmp/citus-rehearsal.env)
    .venv/bin/python benchmarks/citus.py [--batches 60] [--workers 2] [--threads 4]
    scripts/citus-rehearsal --drop

For each database, plain PostgreSQL (BENCH_PLAIN_URL, default a database portal_bench_plain without
the extension on the coordinator's cluster: the same server and settings) then Citus (the kept
coordinator, database portal_bench_citus, made on every node with the extension and the workers
registered), it creates the database afresh, migrates it (and `distribute_on_citus`), makes
a tenant with three pools, 500 opted-in users and a key, and 20 other tenants, starts `gunicorn
portal.wsgi`, and posts batches of 1000 records (census, usage, error reports; every one accepted)
from client threads over loopback. It prints records/s, and per batch the CPU of the gunicorn workers
and of the database's backends serving this database (on Citus: on the coordinator and the workers).

On Citus a second round posts the same way, every fifth batch a second time (a client's retry), and
halfway through moves the tenant to its own shard (`isolate_tenant_to_new_shard(..., 'CASCADE',
shard_transfer_mode => 'block_writes')`: the tenant's writes wait while its shards are copied). It
ends by comparing what the answers said with what is stored: records, receipts and the ledger.
"""

import argparse
import datetime as dt
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Plain PostgreSQL: by default a database without the extension on the coordinator's own cluster, so
# that both run with the same server settings (the scratch clusters trade durability for speed).
PLAIN_URL = os.environ.get("BENCH_PLAIN_URL")
KEPT = Path(tempfile.gettempdir()) / "citus-rehearsal.env"  # written by scripts/citus-rehearsal --keep
CITUS_DB = "portal_bench_citus"
BATCH = 1000
CLIENTS = ["desktop", "desktop", "mobile", "web"]
POOLS = ["pool01.contoso.com", "pool02.contoso.com", "pool03.contoso.com"]
USERS = [f"user{n:04d}@contoso.com" for n in range(500)]
TICKS = os.sysconf("SC_CLK_TCK")


def kept_cluster() -> tuple[str, list[int]]:
    if not KEPT.exists():
        sys.exit("No kept Citus cluster: run scripts/citus-rehearsal --keep first.")
    values = dict(line.split("=", 1) for line in KEPT.read_text().splitlines() if "=" in line)
    ports = [int(port) for port in values["CITUS_PORTS"].split()]
    return f"postgres://postgres@127.0.0.1:{ports[0]}/{CITUS_DB}", ports


def admin_connect(url: str, database: str = "postgres"):
    import psycopg

    return psycopg.connect(urlsplit(url)._replace(path=f"/{database}").geturl(), autocommit=True)


def create_database(url: str, *, citus_ports: list[int] | None) -> None:
    name = urlsplit(url).path.lstrip("/")
    targets = [url] if citus_ports is None else [f"postgres://postgres@127.0.0.1:{port}/x" for port in citus_ports]
    for target in targets:
        with admin_connect(target) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        if citus_ports is not None:
            with admin_connect(target, name) as conn:
                conn.execute("CREATE EXTENSION citus")
    if citus_ports is not None:
        with admin_connect(url, name) as conn:
            conn.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)", [citus_ports[0]])
            for port in citus_ports[1:]:
                conn.execute("SELECT citus_add_node('127.0.0.1', %s)", [port])
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    if citus_ports is not None:
        subprocess.run([sys.executable, "manage.py", "distribute_on_citus"], cwd=ROOT, env=env, check=True)


SET_UP = """
import django, sys
django.setup()
from tenants import services
actor = services.Actor.for_command("benchmark")
tenant = services.tenant_create(slug="contoso", name="Contoso", domain="contoso.com", actor=actor)
for fqdn in sys.argv[1].split(","):
    services.pool_create(tenant=tenant, fqdn=fqdn, actor=actor)
for user in sys.argv[2].split(","):
    services.end_user_set_error_reporting(tenant=tenant, user_id=user, opted_in=True)
for n in range(20):
    other = services.tenant_create(slug=f"filler{n:02d}", name=f"Filler {n}", domain=f"filler{n}.example", actor=actor)
    services.pool_create(tenant=other, fqdn=f"pool01.filler{n}.example", actor=actor)
print(tenant.pk)
print(services.ingestion_key_create(tenant=tenant, actor=actor).secret)
"""


def set_up_tenant(url: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": url}
    out = subprocess.run(
        [sys.executable, "-c", SET_UP, ",".join(POOLS), ",".join(USERS)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[-2]), out[-1]


def make_batch(rng: random.Random, day: dt.date) -> bytes:
    records = []
    for _ in range(BATCH):
        moment = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), tzinfo=dt.UTC)
        base = {"id": str(uuid.uuid4()), "client": rng.choice(CLIENTS), "timestamp": moment.isoformat()}
        kind = rng.random()
        if kind < 0.3:
            base.update(
                category="census",
                app_name="Skype",
                device_model="Surface",
                os_name="Windows",
                os_version="10.0",
                user_language="en-US",
                user_id=str(uuid.uuid4()),
                device_id=str(uuid.uuid4()),
                sign_in_attempts=1,
            )
        elif kind < 0.75:
            base.update(category="usage", pool=rng.choice(POOLS), ims_sent=rng.randrange(50), call_minutes=7)
        else:
            base.update(
                category="error",
                pool=rng.choice(POOLS),
                user_id=rng.choice(USERS),
                message_direction="outgoing",
                conversation_state="connected",
                error_code="SIGNIN_TIMEOUT",
                error_log="timeout after 30 s",
                ip_address="203.0.113.7",
            )
        records.append(base)
    return json.dumps({"records": records}).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(url: str, workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"{url}?conn_max_age=600",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    process = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "portal.wsgi"], cwd=ROOT, env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("gunicorn did not start")


def cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS
    except (OSError, IndexError):
        return 0.0


def children(pid: int) -> list[int]:
    found = [pid]
    for child in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(child.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found += children(int(child.parent.name))
        except (OSError, ValueError):
            continue
    return found


class CpuSampler(threading.Thread):
    """CPU seconds of the gunicorn processes and of the PostgreSQL backends serving `database` (on every
    cluster of the machine: on Citus the coordinator's and the workers'), sampled twice a second so
    that a backend that exits between samples loses at most half a second."""

    def __init__(self, gunicorn_pid: int, database: str):
        super().__init__(daemon=True)
        self.gunicorn_pid, self.marker = gunicorn_pid, f" {database} "
        self.gunicorn: dict[int, float] = {}
        self.postgres: dict[int, float] = {}
        self.running = True

    def sample(self) -> None:
        for pid in children(self.gunicorn_pid):
            self.gunicorn[pid] = max(self.gunicorn.get(pid, 0.0), cpu_of(pid))
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text.startswith("postgres: ") and self.marker in text:
                pid = int(cmdline.parent.name)
                self.postgres[pid] = max(self.postgres.get(pid, 0.0), cpu_of(pid))

    def run(self):
        while self.running:
            self.sample()
            time.sleep(0.5)

    def stop(self) -> tuple[float, float]:
        self.running = False
        self.join()
        self.sample()
        return sum(self.gunicorn.values()), sum(self.postgres.values())


def post(port: int, key: str, body: bytes) -> dict:
    for _ in range(100):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            conn.request(
                "POST",
                "/api/v1/telemetry",
                body,
                {"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status == 200:
            return json.loads(data)
        time.sleep(0.5)  # a client retries a refused batch (503 while a lock is awaited)
    raise RuntimeError(f"a batch was refused 100 times: {response.status} {data[:200]!r}")


def run(label: str, url: str, args, *, citus_ports=None, isolate: bool = False) -> dict:
    create_database(url, citus_ports=citus_ports)
    tenant_id, key = set_up_tenant(url)
    rng = random.Random(7)
    today = dt.datetime.now(dt.UTC).date()
    bodies = [make_batch(rng, today - dt.timedelta(days=n % 3)) for n in range(args.batches)]
    if isolate:  # every fifth batch sent twice: a retry must be a duplicate, before and after the move
        bodies = [body for n, body in enumerate(bodies) for body in ([body, body] if n % 5 == 4 else [body])]
    gunicorn, port = start_gunicorn(url, args.workers)
    sampler = CpuSampler(gunicorn.pid, urlsplit(url).path.lstrip("/"))
    figures = {"label": label}
    try:
        post(port, key, bodies[0])  # warm the workers; counted in the totals, not the timing
        sampler.start()
        moved = {}

        def mover():
            started = time.monotonic()
            with admin_connect(url, urlsplit(url).path.lstrip("/")) as conn:
                moved["shard"] = conn.execute(
                    "SELECT isolate_tenant_to_new_shard('telemetry_usagerecord', %s, 'CASCADE', "
                    "shard_transfer_mode => 'block_writes')",
                    [tenant_id],
                ).fetchone()[0]
            moved["seconds"] = time.monotonic() - started

        answers = []
        lock = threading.Lock()
        halfway = len(bodies) // 2
        mover_thread = threading.Thread(target=mover)
        latencies = []

        def send(n: int):
            if isolate and n == halfway:
                mover_thread.start()
            started = time.monotonic()
            answer = post(port, key, bodies[n])
            with lock:
                answers.append(answer)
                latencies.append(time.monotonic() - started)

        started = time.monotonic()
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(send, range(1, len(bodies))))
        elapsed = time.monotonic() - started
        if isolate:
            mover_thread.join()
        gunicorn_cpu, postgres_cpu = sampler.stop()
        sent = len(bodies) - 1
        figures.update(
            records_per_s=sent * BATCH / elapsed,
            gunicorn_ms_per_batch=1000 * gunicorn_cpu / sent,
            postgres_ms_per_batch=1000 * postgres_cpu / sent,
            latency_median_s=sorted(latencies)[len(latencies) // 2],
            latency_max_s=max(latencies),
        )
        if isolate:
            figures.update(check(url, tenant_id, bodies, moved))
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        gunicorn.wait(timeout=30)
    return figures


def check(url: str, tenant_id: int, bodies: list[bytes], moved: dict) -> dict:
    """What is stored against what was sent: each distinct record once, the ledger equal to the rows."""
    distinct = {}
    for body in bodies:
        for record in json.loads(body)["records"]:
            distinct[record["id"]] = record["category"]
    sent = {category: sum(1 for c in distinct.values() if c == category) for category in ("usage", "error", "census")}
    with admin_connect(url, urlsplit(url).path.lstrip("/")) as conn:

        def one(sql, *params):
            return conn.execute(sql, params).fetchone()[0]

        stored = {
            "usage": one("SELECT count(*) FROM telemetry_usagerecord WHERE tenant_id = %s", tenant_id),
            "error": one("SELECT count(*) FROM telemetry_errorreport WHERE tenant_id = %s", tenant_id),
            "census": one("SELECT count(*) FROM telemetry_stagedcensusrecord")
            + one("SELECT count(*) FROM telemetry_censusrecord"),
        }
        receipts = one("SELECT count(*) FROM telemetry_recordreceipt WHERE tenant_id = %s", tenant_id)
        ledger = dict(
            conn.execute(
                "SELECT outcome, sum(records) FROM telemetry_ingestioncount WHERE tenant_id = %s GROUP BY 1",
                [tenant_id],
            ).fetchall()
        )
        own_shard = one(
            "SELECT shardminvalue = shardmaxvalue FROM pg_dist_shard WHERE shardid = "
            "get_shard_id_for_distribution_column('telemetry_usagerecord', %s)",
            tenant_id,
        )
    duplicates_sent = len(bodies) * BATCH - len(distinct)
    return {
        "isolate_seconds": moved.get("seconds"),
        "own_shard": own_shard,
        "sent": sent,
        "stored": stored,
        "receipts": receipts,
        "ledger": {outcome: int(records) for outcome, records in ledger.items()},
        "duplicates_sent": duplicates_sent,
        "nothing_lost_nothing_twice": stored == sent
        and receipts == len(distinct)
        and int(ledger.get("accepted", 0)) == len(distinct)
        and int(ledger.get("duplicate", 0)) == duplicates_sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=60, help="batches of 1000 records per run (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    args = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        TELEMETRY_HASH_KEY=secrets.token_urlsafe(48),
        TELEMETRY_RATE_LIMIT="100000000",
        LOG_LEVEL="WARNING",
    )
    citus_url, ports = kept_cluster()
    plain_url = PLAIN_URL or f"postgres://postgres@127.0.0.1:{ports[0]}/portal_bench_plain"
    results = [
        run("plain PostgreSQL", plain_url, args),
        run("Citus, 1 coordinator + 2 workers", citus_url, args, citus_ports=ports),
        run("Citus, tenant isolated mid-ingestion", citus_url, args, citus_ports=ports, isolate=True),
    ]
    for figures in results:
        print(
            f"{figures['label']:40} {figures['records_per_s']:8.0f} records/s"
            f"   gunicorn {figures['gunicorn_ms_per_batch']:5.0f} ms/batch"
            f"   PostgreSQL {figures['postgres_ms_per_batch']:5.0f} ms/batch"
            f"   latency median {figures['latency_median_s']:.2f} s, max {figures['latency_max_s']:.2f} s"
        )
    moved = results[-1]
    print(
        f"isolate_tenant_to_new_shard: {moved['isolate_seconds']:.1f} s, own shard: {moved['own_shard']}; "
        f"sent {moved['sent']} (+{moved['duplicates_sent']} resent), stored {moved['stored']}, "
        f"receipts {moved['receipts']}, ledger {moved['ledger']}: "
        + ("nothing lost, nothing twice" if moved["nothing_lost_nothing_twice"] else "MISMATCH")
    )
    sys.exit(0 if moved["nothing_lost_nothing_twice"] else 1)


if __name__ == "__main__":
    main()

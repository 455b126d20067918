"""Ingestion end to end: gunicorn on PostgreSQL, client threads posting batches of 1000 records.

    .venv/bin/python benchmarks/ingest.py [--batches 300] [--seconds 90] [--workers 5] [--threads 10]
    .venv/bin/python benchmarks/ingest.py --prefill 40000000      # the empty database, then 40 million rows
    .venv/bin/python benchmarks/ingest.py --prefill 0,10000000,40000000

Each phase runs in a process of its own and creates (drops first) its database (BENCH_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/portal_bench_ingest), migrates it, makes a tenant with
pools and a key through the services (and 20 filler tenants), pre-fills the record tables to the
phase's size by SQL, starts `gunicorn portal.wsgi`, and posts realistic mixed batches (census, usage
and error reports from several clients; some dropped by policy, a few rejected; dated at random over
the last 7 days, or `--days N`: the last N, `--days 1` today only) over loopback. Halfway
through the posting it runs the maintenance (`maintain_telemetry`, which purges the expired days).
`--prefill N` runs the empty database first, then N rows, and prints the figures at size as ratios to
the empty database's, measured in the same invocation.

Each phase prints records/s end to end beside references measured in the same run on the same rows:
- the physical limit: psycopg 3 binary COPY of the stored rows into plain tables (a uuid key, no
  index, no primary key);
- COPY into the portal's tables (tables like the record tables, with all their indexes);
- row-by-row ORM saves (Model.objects.create) of the same records;
and, per 1000-record batch, the CPU of the gunicorn workers and of PostgreSQL (the workers'
connections; autovacuum of the database; the shared checkpointer, WAL and background writers), the
WAL written (bytes, records, full-page images), the maintenance's duration and the time its DDL took,
batch latencies inside and outside the maintenance's window, and the gunicorn processes' peak memory.
"""

import argparse
import datetime as dt
import http.client
import io
import json
import os
import random
import re
import secrets
import socket
import statistics
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

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_ingest")
BATCH = 1000
CLIENTS = ["desktop", "desktop", "desktop", "mobile", "web", "meetings_app", "join_launcher"]
POOLS = ["pool01.contoso.com", "pool02.contoso.com", "pool03.contoso.com"]
PARTNERS = ["fabrikam.com", "microsoft.com", "litware.com", "", ""]
USERS = [f"user{n:04d}@contoso.com" for n in range(500)]

# The pre-fill: tenants beside the benchmark's, days of records, and how the rows divide.
FILLER_TENANTS = 20
FILLED_DAYS = 55  # today and the 54 days before: within the default 60-day retention
EXPIRED_DAYS = (62, 63)  # days ago: past the records' retention (60) and the receipts' (60 + 1 day more)
EXPIRED_SHARE = 0.015  # of the rows, in the expired days
SHARES = {"usage": 0.45, "error": 0.25, "census": 0.30}
ERROR_CODES = [
    "SIGNIN_TIMEOUT",
    "MEDIA_FAILED",
    "NETWORK_LOST",
    "CERT_INVALID",
    "ICE_FAILED",
    "DNS_FAILURE",
    "TLS_HANDSHAKE",
    "AUTH_EXPIRED",
    "CODEC_MISMATCH",
    "SERVER_BUSY",
    "QUOTA_EXCEEDED",
    "0x80ee0000",
]
MAINTENANCE_APP = "bench-maintenance"  # application_name of the maintenance's connection


def configure_environment(reused: dict | None = None) -> None:
    """The portal's settings for the phase; a reused database brings its own keys (its pseudonyms and
    opted-in users were made with its hash key)."""
    reused = reused or {}
    os.environ.update(
        # Persistent connections, as production should run: a new connection per request costs a
        # backend fork and re-creating the session's receipt staging table.
        DATABASE_URL=f"{DATABASE_URL}?conn_max_age=600&conn_health_checks=true",
        # The rate limit shared by the workers, as in production.
        CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/3"),
        DJANGO_DEBUG="false",
        DJANGO_SECURE_SSL="false",
        DJANGO_SECRET_KEY=reused.get("secret_key") or secrets.token_urlsafe(48),
        TELEMETRY_HASH_KEY=reused.get("hash_key") or secrets.token_urlsafe(48),
        TELEMETRY_RATE_LIMIT="100000000",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="portal.settings",
    )


def database_name() -> str:
    # Read at each call: benchmarks/hot_path.py sets this module's DATABASE_URL to its own database.
    return urlsplit(DATABASE_URL).path.lstrip("/")


# --reuse: a filled database is kept between invocations, in a database of its own per size
# (`<name>_<size>`), with what its next phase needs in this table.
REUSE_STATE_TABLE = "bench_reuse_state"


def reused_database_url(size: int) -> str:
    return urlsplit(DATABASE_URL)._replace(path=f"/{database_name()}_{size}").geturl()


def reusable_state(size: int) -> dict | None:
    """What a previous --reuse phase of this size left in its database, if it filled it today (the
    pre-fill's days count back from today) and completely; None otherwise."""
    import psycopg

    try:
        with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
            row = connection.execute(f"SELECT state FROM {REUSE_STATE_TABLE}").fetchone()
    except psycopg.Error:
        return None
    state = json.loads(row[0]) if row else None
    today = dt.datetime.now(dt.UTC).date().isoformat()
    return state if state and state["size"] == size and state["day"] == today else None


def save_reuse_state(size: int, key: str) -> None:
    import psycopg

    state = {
        "size": size,
        "day": dt.datetime.now(dt.UTC).date().isoformat(),
        "key": key,
        "hash_key": os.environ["TELEMETRY_HASH_KEY"],
        "secret_key": os.environ["DJANGO_SECRET_KEY"],
    }
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {REUSE_STATE_TABLE} (state text NOT NULL)")
        connection.execute(f"INSERT INTO {REUSE_STATE_TABLE} VALUES (%s)", (json.dumps(state),))


def reuse_filled(size: int, *, connections: int) -> dict:
    """Make a reused database like a freshly filled one again: the migrations the code gained since,
    the census rows the previous phase left staged, moved, and the expired days its maintenance purged,
    filled again (the rows ingested by earlier phases stay: a few hundred thousand beside `size`)."""
    import django

    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    django.setup()
    from django.db import connection

    from telemetry.maintenance import census_move_staged
    from telemetry.models import UsageRecord
    from telemetry.partitions import day_partitions
    from tenants.models import Pool, Tenant

    # The last run's second half left its census rows staged: moved now, so that the phase's
    # maintenance moves only the phase's own, as in a fresh database (and its WAL is not the phase's).
    census_move_staged()
    contoso = Tenant.objects.get(slug="contoso")
    slots = [
        (pool.tenant_id, pool.pk)
        for pool in Pool.objects.all_tenants().order_by("pk")
        for _ in range(4 if pool.tenant_id == contoso.pk else 1)
    ]
    with connection.cursor() as cursor:
        present = {p.day for p in day_partitions(cursor, [UsageRecord._meta.db_table]) if not p.detach_pending}
    today = dt.datetime.now(dt.UTC).date()
    purged = {today - dt.timedelta(days=offset) for offset in EXPIRED_DAYS} - present
    slots_arrays = {"tenant_ids": [t for t, _ in slots], "pool_ids": [p for _, p in slots]}
    return {**prefill(size, slots_arrays, connections=connections, days=purged), "reused": True}


def recreate_database() -> None:
    import psycopg

    name = database_name()
    admin_url = urlsplit(DATABASE_URL)._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)


def set_up_tenant() -> str:
    """A tenant with three pools (one with Meetings App telemetry on), opted-in users, and a key
    (benchmarks/hot_path.py uses it too)."""
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


def set_up_filler_tenants() -> dict:
    """FILLER_TENANTS tenants beside the benchmark's, with two pools each; returns the pre-fill's
    slots: one (tenant id, pool id) per slot, the benchmark's tenant holding about a quarter of them."""
    from tenants import services
    from tenants.models import Pool

    actor = services.Actor.for_command("benchmark")
    slots = [(pool.tenant_id, pool.pk) for pool in Pool.objects.all_tenants().order_by("pk") for _ in range(4)]
    for number in range(1, FILLER_TENANTS + 1):
        slug = f"filler{number:02d}"
        filler = services.tenant_create(slug=slug, name=slug.capitalize(), domain=f"{slug}.example.com", actor=actor)
        for pool_number in (1, 2):
            pool = services.pool_create(tenant=filler, fqdn=f"pool{pool_number:02d}.{slug}.example.com", actor=actor)
            slots.append((filler.pk, pool.pk))
    return {"tenant_ids": [t for t, _ in slots], "pool_ids": [p for _, p in slots]}


# --- The pre-fill: one INSERT ... SELECT per table and day, each writing the day's records, their
# receipts and their counts (ledger, daily sums) in one statement. Values shaped like ingestion's:
# random record ids, pseudonyms `<key id>:<64 hex digits>` of a few thousand users per tenant,
# error codes of skewed frequency, error logs of 1 to 19 lines, /24 networks.

USAGE_SQL = """
WITH g AS (
    SELECT 1 + floor(random() * %(slot_count)s)::int AS slot, floor(random() * 4)::int AS joins,
        (%(clients)s::text[])[1 + floor(random() * 5)::int] AS client
    FROM generate_series(1, %(rows)s)
), u AS (
    INSERT INTO telemetry_usagerecord (tenant_id, pool_id, record_id, day, timestamp, client, ims_sent,
        ims_received, meeting_join_attempts, meeting_join_successes, call_minutes, federation_partner)
    SELECT (%(tenant_ids)s::bigint[])[slot], (%(pool_ids)s::bigint[])[slot], gen_random_uuid(), %(day)s,
        %(day)s::timestamptz + random() * interval '1 day', client, floor(random() * 100)::int,
        floor(random() * 100)::int, joins, greatest(joins - (random() < 0.1)::int, 0), floor(random() * 120)::int,
        (%(partners)s::text[])[1 + floor(random() * 5)::int]
    FROM g
    RETURNING tenant_id, pool_id, record_id, day, client, ims_sent, ims_received, meeting_join_attempts,
        meeting_join_successes, call_minutes, federation_partner
), receipts AS (
    INSERT INTO telemetry_recordreceipt (tenant_id, record_id, day) SELECT tenant_id, record_id, day FROM u
), sums AS (
    INSERT INTO telemetry_usagedailysum (tenant_id, pool_id, day, records, ims_sent, ims_received,
        meeting_join_attempts, meeting_join_successes, call_minutes)
    SELECT tenant_id, pool_id, day, count(*), sum(ims_sent), sum(ims_received), sum(meeting_join_attempts),
        sum(meeting_join_successes), sum(call_minutes)
    FROM u GROUP BY 1, 2, 3
    ON CONFLICT DO NOTHING
), partners AS (
    INSERT INTO telemetry_federationpartnerdailycount (tenant_id, day, partner, records)
    SELECT tenant_id, day, federation_partner, count(*) FROM u WHERE federation_partner <> '' GROUP BY 1, 2, 3
    ON CONFLICT DO NOTHING
)
INSERT INTO telemetry_ingestioncount (tenant_id, day, category, client, outcome, reason, records)
SELECT tenant_id, day, 'usage', client, 'accepted', '', count(*) FROM u GROUP BY 1, 2, 4
ON CONFLICT DO NOTHING
"""

ERROR_SQL = """
WITH g AS (
    SELECT 1 + floor(random() * %(slot_count)s)::int AS slot, floor(random() * 3000)::int AS usr,
        1 + floor(power(random(), 2.5) * %(code_count)s)::int AS code, 1 + floor(random() * 19)::int AS lines,
        (%(clients)s::text[])[1 + floor(random() * 5)::int] AS client
    FROM generate_series(1, %(rows)s)
), e AS (
    INSERT INTO telemetry_errorreport (tenant_id, pool_id, record_id, day, timestamp, client, user_hash,
        message_direction, conversation_state, conversation_thread_id, error_code, error_log, ip_network,
        sip_uri_hash, os_name, crash)
    SELECT (%(tenant_ids)s::bigint[])[slot], (%(pool_ids)s::bigint[])[slot], gen_random_uuid(), %(day)s,
        %(day)s::timestamptz + random() * interval '1 day', client,
        %(key_id)s || ':' || encode(sha256(convert_to('user:' || (%(tenant_ids)s::bigint[])[slot] || ':' || usr,
            'UTF8')), 'hex'),
        CASE WHEN random() < 0.5 THEN 'incoming' ELSE 'outgoing' END,
        (ARRAY['idle', 'active', 'ended'])[1 + floor(random() * 3)::int],
        rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '='),
        (%(codes)s::text[])[code], repeat(E'stack trace line\\n', lines),
        '203.0.' || floor(random() * 256)::int || '.0/24',
        %(key_id)s || ':' || encode(sha256(convert_to('sip:' || (%(tenant_ids)s::bigint[])[slot] || ':' || usr,
            'UTF8')), 'hex'),
        '', random() < 0.05
    FROM g
    RETURNING tenant_id, record_id, day, client, error_code
), receipts AS (
    INSERT INTO telemetry_recordreceipt (tenant_id, record_id, day) SELECT tenant_id, record_id, day FROM e
), codes AS (
    INSERT INTO telemetry_errorcodedailycount (tenant_id, day, error_code, records)
    SELECT tenant_id, day, error_code, count(*) FROM e GROUP BY 1, 2, 3
    ON CONFLICT DO NOTHING
)
INSERT INTO telemetry_ingestioncount (tenant_id, day, category, client, outcome, reason, records)
SELECT tenant_id, day, 'error', client, 'accepted', '', count(*) FROM e GROUP BY 1, 2, 4
ON CONFLICT DO NOTHING
"""

# Census rows name no tenant; the tenant that sent each one holds its receipt and its ledger row.
CENSUS_SQL = """
WITH g AS (
    SELECT (%(tenant_ids)s::bigint[])[1 + floor(random() * %(slot_count)s)::int] AS tenant_id,
        (%(clients)s::text[])[1 + floor(random() * 5)::int] AS client, floor(random() * 5)::int AS attempts,
        floor(random() * 200000)::int AS usr
    FROM generate_series(1, %(rows)s)
), c AS (
    INSERT INTO telemetry_censusrecord (id, day, timestamp, client, app_name, device_model, os_name, os_version,
        user_language, user_hash, device_id, sign_in_attempts, sign_in_failures)
    SELECT gen_random_uuid(), %(day)s, %(day)s::timestamptz + random() * interval '1 day', client,
        CASE client WHEN 'mobile' THEN 'iPhoneSkype' WHEN 'web' THEN 'SkypeWeb' ELSE 'Lync.exe' END,
        (ARRAY['Surface Laptop', 'iPhone', 'Pixel 8', 'ThinkPad X1'])[1 + floor(random() * 4)::int],
        CASE client WHEN 'mobile' THEN 'iPhoneiOS' ELSE 'Windows' END,
        (ARRAY['10.0.19045', '10.0.22631', '17.4', '14'])[1 + floor(random() * 4)::int],
        (ARRAY['EN-US', 'EN-US', 'EN-US', 'DE-DE', 'FR-FR'])[1 + floor(random() * 5)::int],
        %(key_id)s || ':' || encode(sha256(convert_to('census:' || usr, 'UTF8')), 'hex'), gen_random_uuid(),
        attempts, least(attempts, floor(random() * 2)::int)
    FROM g
    RETURNING day, sign_in_attempts, sign_in_failures
), receipts AS (
    INSERT INTO telemetry_recordreceipt (tenant_id, record_id, day) SELECT tenant_id, gen_random_uuid(), %(day)s FROM g
), sums AS (
    INSERT INTO telemetry_censusdailysum (day, records, sign_in_attempts, sign_in_failures)
    SELECT day, count(*), sum(sign_in_attempts), sum(sign_in_failures) FROM c GROUP BY 1
    ON CONFLICT DO NOTHING
)
INSERT INTO telemetry_ingestioncount (tenant_id, day, category, client, outcome, reason, records)
SELECT tenant_id, %(day)s, 'census', client, 'accepted', '', count(*) FROM g GROUP BY 1, 4
ON CONFLICT DO NOTHING
"""

FILL_SQL = {"usage": USAGE_SQL, "error": ERROR_SQL, "census": CENSUS_SQL}
RECORD_TABLES = ("telemetry_usagerecord", "telemetry_errorreport", "telemetry_censusrecord")


def fill_plan(rows: int, today: dt.date) -> list[tuple[str, dt.date, int]]:
    """(category, day, rows) of the pre-fill: FILLED_DAYS days within the retention and, with
    EXPIRED_SHARE of the rows, the EXPIRED_DAYS for the maintenance to purge."""
    kept_days = [today - dt.timedelta(days=offset) for offset in range(FILLED_DAYS)]
    expired_days = [today - dt.timedelta(days=offset) for offset in EXPIRED_DAYS]
    plan = []
    for category, share in SHARES.items():
        for days, part in ((kept_days, 1 - EXPIRED_SHARE), (expired_days, EXPIRED_SHARE)):
            per_day = round(rows * share * part / len(days))
            plan += [(category, day, per_day) for day in days if per_day]
    # Day by day, each day's tables side by side: the connections filling at once write different tables.
    return sorted(plan, key=lambda step: (step[1], step[0]), reverse=True)


def prefill(rows: int, slots: dict, *, connections: int, days: set[dt.date] | None = None) -> dict:
    """Fill the record tables, receipts and count tables to about `rows` records (only `days` of the
    plan when given); the time it took."""
    from django.db import connection

    from telemetry.partitions import ensure_day_partitions
    from telemetry.pseudonymize import hash_user_id

    today = dt.datetime.now(dt.UTC).date()
    plan = [step for step in fill_plan(rows, today) if days is None or step[1] in days]
    started = time.monotonic()
    ensure_day_partitions({day for _, day, _ in plan})
    partitions_made = time.monotonic() - started
    common = {
        **slots,
        "slot_count": len(slots["tenant_ids"]),
        "key_id": hash_user_id("someone", tenant_id=slots["tenant_ids"][0]).split(":")[0],
        "clients": ["desktop", "desktop", "mobile", "web", "meetings_app"],
        "partners": PARTNERS,
        "codes": ERROR_CODES,
        "code_count": len(ERROR_CODES),
    }
    total = sum(count for _, _, count in plan)
    filling = time.monotonic()
    done, reported = 0, filling
    opened, opened_lock = [], threading.Lock()
    local = threading.local()

    def fill_one(step: tuple[str, dt.date, int]) -> int:
        import psycopg

        if not hasattr(local, "connection"):
            local.connection = psycopg.connect(DATABASE_URL, autocommit=True)
            # Losing the fill in a crash costs nothing: no wait for each day's commit to reach the disk.
            local.connection.execute("SET synchronous_commit = off")
            local.connection.execute("SET work_mem = '64MB'")
            with opened_lock:
                opened.append(local.connection)
        category, day, count = step
        local.connection.execute(FILL_SQL[category], {**common, "day": day, "rows": count})
        return count

    # The days are filled on `connections` connections at once (a statement per table and day): the
    # state they leave is the one a single connection would, as each day's statements are independent.
    try:
        with ThreadPoolExecutor(max_workers=connections) as pool:
            for count in pool.map(fill_one, plan):
                done += count
                if time.monotonic() - reported > 30 or done == total:
                    reported = time.monotonic()
                    rate = done / max(reported - filling, 1e-9)
                    print(f"prefill: {done:,} of {total:,} records ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    finally:
        for opened_connection in opened:
            opened_connection.close()
    with connection.cursor() as cursor:
        filled = time.monotonic() - started
        # Without it, autovacuum's insert-triggered runs and the visibility map's first writes would
        # land in the measured phase.
        cursor.execute("VACUUM ANALYZE")
        vacuumed = time.monotonic() - started - filled
        cursor.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname LIKE 'telemetry\\_%%'"
        )
        (size,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM telemetry_recordreceipt")
        (receipts,) = cursor.fetchone()
    connection.close()
    return {
        "records": total,
        "receipts": receipts,
        "partitions_s": partitions_made,
        "fill_s": filled - partitions_made,
        "vacuum_s": vacuumed,
        "bytes": int(size or 0),
    }


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


def make_batches(count: int, *, days: int = 7) -> list[list[dict]]:
    """`count` batches whose records are dated at random over the last `days` days, today included."""
    rng = random.Random(7)
    today = dt.datetime.now(dt.UTC).date()
    dates = [today - dt.timedelta(days=back) for back in range(days)]
    return [[make_record(rng, rng.choice(dates)) for _ in range(BATCH)] for _ in range(count)]


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


def cpu_of(pid: int) -> float | None:
    """CPU seconds (user + system) of a process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    return sum(cpu_of(pid) or 0 for pid in pids)


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


class PostgresSampler(threading.Thread):
    """The CPU of PostgreSQL's processes during the measured phase, by kind, sampled every 0.2 s (so
    that short-lived ones, an autovacuum worker or the maintenance's connection, are caught too; what
    one spends in its last 0.2 s is missed). Kinds: `ingestion` (the gunicorn workers' connections),
    `maintenance`, `autovacuum` (of this database) and `shared` (checkpointer, background and WAL
    writers, which serve every database of the server: other databases' work is in it)."""

    SHARED = ("checkpointer", "background writer", "walwriter")

    def __init__(self):
        super().__init__(daemon=True)
        self.running = True
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.kind: dict[int, str] = {}
        self.initial = True

    def sample(self, cursor) -> None:
        cursor.execute(
            "SELECT pid, backend_type, application_name FROM pg_stat_activity "
            "WHERE (datname = %s OR backend_type = ANY(%s)) AND pid <> pg_backend_pid()",
            (database_name(), list(self.SHARED)),
        )
        for pid, backend_type, application in cursor.fetchall():
            cpu = cpu_of(pid)
            if cpu is None:
                continue
            if pid not in self.first:
                # Processes already running (the shared ones) count from now; new ones from their start.
                self.first[pid] = cpu if self.initial else 0.0
            # Classified again at each sample: a connection names itself after it has connected.
            self.kind[pid] = (
                "shared"
                if backend_type in self.SHARED
                else "autovacuum"
                if backend_type == "autovacuum worker"
                else "maintenance"
                if application == MAINTENANCE_APP
                else "ingestion"
                if backend_type == "client backend"
                else "other"
            )
            self.last[pid] = cpu

    def run(self) -> None:
        import psycopg

        with psycopg.connect(DATABASE_URL, autocommit=True) as connection, connection.cursor() as cursor:
            self.sample(cursor)
            self.initial = False
            self.started.set()
            while self.running:
                time.sleep(0.2)
                self.sample(cursor)
            self.sample(cursor)

    def start(self) -> None:
        self.started = threading.Event()
        super().start()
        self.started.wait()

    def stop(self) -> dict[str, float]:
        self.running = False
        self.join()
        totals: dict[str, float] = {}
        for pid, kind in self.kind.items():
            totals[kind] = totals.get(kind, 0.0) + self.last[pid] - self.first[pid]
        return totals


def wal_position() -> dict:
    """The server's WAL position and pg_stat_wal's counters (cluster-wide: every database's WAL)."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        lsn, records, fpi, size = connection.execute(
            "SELECT pg_current_wal_lsn()::text, wal_records, wal_fpi, wal_bytes FROM pg_stat_wal"
        ).fetchone()
    return {"lsn": lsn, "records": records, "fpi": fpi, "bytes": int(size), "at": time.monotonic()}


def checkpoint_and_listen(seconds: float) -> dict:
    """A checkpoint, then the WAL the server writes in `seconds` while this benchmark is idle.

    Every phase starts just after a checkpoint (as one happens every checkpoint_timeout in
    production): otherwise the pre-fill's checkpoint would still be writing, and full-page images
    counting, in the measured phase of a filled database and not in the empty one's. Other databases
    of the server write WAL too (pg_stat_wal is cluster-wide): their rate is measured here."""
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        connection.execute("CHECKPOINT")
    quiet = wal_position()
    time.sleep(seconds)
    return wal_written(quiet, wal_position())


def wal_written(before: dict, after: dict) -> dict:
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        (lsn_bytes,) = connection.execute("SELECT pg_wal_lsn_diff(%s, %s)", (after["lsn"], before["lsn"])).fetchone()
    return {
        "lsn_bytes": int(lsn_bytes),
        "bytes": after["bytes"] - before["bytes"],
        "records": after["records"] - before["records"],
        "fpi": after["fpi"] - before["fpi"],
        "seconds": after["at"] - before["at"],
    }


def waldump_command() -> list[str] | None:
    """pg_waldump of the server's major version, reading the server's WAL directory; None when the
    server cannot be asked (pg_waldump then fails on its own where the WAL is not readable here)."""
    import shutil

    import psycopg

    try:
        with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
            directory = connection.execute("SHOW data_directory").fetchone()[0]
            major = int(connection.execute("SHOW server_version_num").fetchone()[0]) // 10000
    except psycopg.Error:
        return None
    return [shutil.which("pg_waldump") or f"/usr/lib/postgresql/{major}/bin/pg_waldump", "-p", f"{directory}/pg_wal"]


def wal_split(start_lsn: str, end_lsn: str) -> dict | None:
    """The WAL between two positions as pg_waldump --stats sums it: bytes of records and bytes of
    full-page images (whose number depends on how many distinct pages were first written since the
    last checkpoint, not on the work). Cluster-wide, like pg_stat_wal. None when pg_waldump cannot
    read the server's WAL (not on this machine, not allowed, or recycled already)."""
    waldump = waldump_command()
    if waldump is None:
        return None
    try:
        completed = subprocess.run(
            [*waldump, "--stats", "-s", start_lsn, "-e", end_lsn],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except OSError:
        return None
    for line in completed.stdout.splitlines():
        if line.startswith("Total"):
            # Total <records> <record bytes> [<%>] <full-page image bytes> [<%>] <combined> [100%]
            numbers = [word for word in line.split()[1:] if not word.startswith("[")]
            return {"record_bytes": int(numbers[1]), "fpi_bytes": int(numbers[2])}
    return None


FPW = re.compile(
    r"rel \d+/(\d+)/(\d+) fork (\w+) blk \d+ \(FPW\); hole: offset: \d+, length: (\d+)(?:, compression saved: (\d+))?"
)


def fpi_by_table(start_lsn: str, end_lsn: str) -> dict[str, tuple[int, int]] | None:
    """The full-page images between two positions, per table or index of this database: {name: (images,
    bytes)}, a partition's counted under its partitioned table or index; the other databases' under
    "(other databases)". pg_waldump lists every image with its relation; None when it cannot read the
    WAL (as wal_split)."""
    import psycopg

    waldump = waldump_command()
    if waldump is None:
        return None
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        (database,) = connection.execute("SELECT oid FROM pg_database WHERE datname = current_database()").fetchone()
    images: dict[tuple[int, int], list[int]] = {}
    try:
        with subprocess.Popen(
            [*waldump, "--fullpage", "--bkp-details", "-s", start_lsn, "-e", end_lsn],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as dump:
            for line in dump.stdout:
                match = FPW.search(line)
                if match:
                    db, node, _fork, hole, saved = match.groups()
                    key = (int(db), int(node)) if int(db) == database else (0, 0)
                    counts = images.setdefault(key, [0, 0])
                    counts[0] += 1
                    counts[1] += 8192 - int(hole) - int(saved or 0)
    except OSError:
        return None
    if dump.returncode or not images:  # a segment missing (recycled), or a format this does not read
        return None
    named: dict[str, tuple[int, int]] = {}
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        for (db, node), (count, size) in images.items():
            name = "(other databases)"
            if db:
                (name,) = connection.execute(
                    "SELECT coalesce(pg_partition_root(r)::text, r::text, 'relfilenode ' || %s::text) "
                    "FROM pg_filenode_relation(0, %s) r",
                    (node, node),
                ).fetchone()
            before = named.get(name, (0, 0))
            named[name] = (before[0] + count, before[1] + size)
    return named


def wal_breakdown(start_lsn: str, end_lsn: str, *, by_table: bool) -> tuple[dict | None, dict | None]:
    """wal_split, and fpi_by_table when asked for."""
    return wal_split(start_lsn, end_lsn), fpi_by_table(start_lsn, end_lsn) if by_table else None


def reserve_wal():
    """A connection holding a temporary physical replication slot that reserves the WAL from now on:
    a checkpoint during the phase (another database's DROP DATABASE forces one) would otherwise
    recycle the segments wal_split reads. The slot goes with the connection; None if not allowed."""
    import psycopg

    try:
        connection = psycopg.connect(DATABASE_URL, autocommit=True)
    except psycopg.Error:
        return None
    try:
        connection.execute("SELECT pg_create_physical_replication_slot(%s, true, true)", (f"bench_wal_{os.getpid()}",))
    except psycopg.Error:
        connection.close()
        return None
    return connection


class Maintenance(threading.Thread):
    """`maintain_telemetry` once, in this process (its own connection, application_name
    MAINTENANCE_APP), with each SQL statement timed through Django's execute_wrapper: the purge's DDL
    (DETACH ... CONCURRENTLY, DROP TABLE) and the partition counts that precede each drop."""

    def __init__(self, *, trigger: threading.Event):
        super().__init__(daemon=True)
        self.trigger = trigger
        self.cpu = 0.0  # this thread's own CPU, which is not the client's
        self.statements: list[tuple[str, float, float]] = []  # (sql, started, seconds)
        self.output = io.StringIO()
        self.error: BaseException | None = None
        self.window = (0.0, 0.0)

    def timed(self, execute, sql, params, many, context):
        started = time.monotonic()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append((sql, started, time.monotonic() - started))

    def run(self) -> None:
        from django.core.management import call_command
        from django.db import connection

        self.trigger.wait()
        started, cpu = time.monotonic(), time.thread_time()
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET application_name = '{MAINTENANCE_APP}'")
            with connection.execute_wrapper(self.timed):
                call_command("maintain_telemetry", stdout=self.output)
        except BaseException as error:  # reported with the phase's figures
            self.error = error
        finally:
            self.window = (started, time.monotonic())
            connection.close()
            self.cpu = time.thread_time() - cpu

    def ddl(self, *words: str) -> list[float]:
        return [s for sql, _, s in self.statements if all(word in sql for word in words)]


def post_all(port: int, key: str, bodies: list[bytes], threads: int, seconds: float, *, halfway: threading.Event):
    """Post the bodies from several threads until done or out of time; sets `halfway` when half the
    bodies are posted. Returns (batches, records, elapsed, totals, latencies, failures), latencies as
    (started, seconds) per batch."""
    lock = threading.Lock()
    queue = list(reversed(bodies))
    totals = {"accepted": 0, "dropped": 0, "rejected": 0, "duplicates": 0}
    done = [0]
    failures = []
    latencies = []
    started = time.monotonic()

    def worker():
        while True:
            with lock:
                if not queue or time.monotonic() - started > seconds:
                    return
                body = queue.pop()
            sent = time.monotonic()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                connection.request(
                    "POST",
                    "/api/v1/telemetry",
                    body=body,
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
                )
                response = connection.getresponse()
                status, payload = response.status, response.read()
                connection.close()
            except OSError as error:
                status, payload = None, repr(error).encode()
            answered = time.monotonic()
            with lock:
                latencies.append((sent, answered - sent))
                if status != 200:
                    failures.append((status, payload[:200]))
                else:
                    answer = json.loads(payload)
                    for name in totals:
                        totals[name] += answer[name]
                    done[0] += 1
                if len(latencies) >= len(bodies) // 2:
                    halfway.set()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    halfway.set()
    elapsed = time.monotonic() - started
    return done[0], done[0] * BATCH, elapsed, totals, latencies, failures


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


def copy_rate(batches: list[list[dict]], *, plain: bool) -> float:
    """records/s of psycopg 3 binary COPY of the stored rows, a transaction per batch, into tables
    made for the measure (dropped after): `plain`, the physical limit, a table per record table with
    its stored columns and a uuid key, no index nor primary key; otherwise tables like the portal's
    (LIKE ... INCLUDING ALL: the same columns, identity and indexes, without the partitions)."""
    import psycopg
    from django.db import connection as django_connection

    from telemetry import storage

    tables = {}
    for category, (model, stored) in storage.RECORD_TABLES.items():
        source = model._meta.db_table
        keyed = "id" in stored
        columns = stored if (keyed or not plain) else ("id", *stored)
        tables[category] = (f"bench_{'plain_' if plain else ''}{source}", source, columns, not keyed and plain)
    with psycopg.connect(DATABASE_URL) as connection:
        for category, (table, source, columns, _) in tables.items():
            model = storage.RECORD_TABLES[category][0]
            connection.execute(f"DROP TABLE IF EXISTS {table}")
            if plain:
                definitions = ", ".join(
                    f"{column} {'uuid' if column == 'id' else model._meta.get_field(column).db_type(django_connection)}"
                    " NOT NULL"
                    for column in columns
                )
                connection.execute(f"CREATE TABLE {table} ({definitions})")
            else:
                connection.execute(f"CREATE TABLE {table} (LIKE {source} INCLUDING ALL)")
        connection.commit()
        types = {}
        for category, (model, columns) in storage.RECORD_TABLES.items():
            named = storage.column_types(model, columns)
            types[category] = ["uuid", *named] if tables[category][3] else named
        # The rows are prepared per batch (pseudonyms included), as ingestion prepares them.
        started = time.monotonic()
        for batch in batches:
            rows = stored_rows([batch])
            with connection.cursor() as cursor:
                for category, (table, _, columns, add_key) in tables.items():
                    category_rows = [(uuid.uuid4(), *row) for row in rows[category]] if add_key else rows[category]
                    storage.copy_rows(cursor, table, columns, category_rows, types=types[category])
            connection.commit()
        elapsed = time.monotonic() - started
        for table, *_ in tables.values():
            connection.execute(f"DROP TABLE {table}")
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


def overlaps(sent: float, seconds: float, window: tuple[float, float]) -> bool:
    return sent < window[1] and sent + seconds > window[0]


def maintenance_figures(maintenance: Maintenance, latencies: list[tuple[float, float]]) -> dict:
    """The maintenance's duration, its DDL's, and the batch latencies inside and outside its window."""
    window = maintenance.window
    inside = [seconds for sent, seconds in latencies if overlaps(sent, seconds, window)]
    outside = [seconds for sent, seconds in latencies if not overlaps(sent, seconds, window)]
    detach, drop = maintenance.ddl("DETACH PARTITION"), maintenance.ddl("DROP TABLE")
    return {
        "maintenance_s": window[1] - window[0],
        "detached": len(detach),
        "detach_s": sum(detach),
        "detach_max_s": max(detach, default=0.0),
        "drop_s": sum(drop),
        "drop_max_s": max(drop, default=0.0),
        "partitions_dropped": len(drop),
        # What the purge reads before each drop, to say how many rows it deleted.
        "counting_s": sum(maintenance.ddl("SELECT", "count(*)", "_p")),
        "latency_outside_median": statistics.median(outside) if outside else 0.0,
        "latency_outside_max": max(outside, default=0.0),
        "latency_inside_median": statistics.median(inside) if inside else 0.0,
        "latency_inside_max": max(inside, default=0.0),
        "batches_inside": len(inside),
    }


def prepare_database(size: int, args: argparse.Namespace) -> tuple[str, dict | None]:
    """The phase's database, made (or reused) and filled; its ingestion key and the pre-fill's figures."""
    # Each phase runs in a process of its own: the size's database is this process's for good.
    global DATABASE_URL  # noqa: PLW0603
    reused = None
    if args.reuse and size:
        DATABASE_URL = reused_database_url(size)
        reused = reusable_state(size)
    configure_environment(reused)
    if reused:
        return reused["key"], reuse_filled(size, connections=args.fill_connections)
    recreate_database()
    key = set_up_tenant()
    filled = prefill(size, set_up_filler_tenants(), connections=args.fill_connections) if size else None
    if args.reuse and size:
        save_reuse_state(size, key)
    return key, filled


def phase_batches(args: argparse.Namespace) -> tuple[list[bytes], list[list[dict]], list[bytes]]:
    """The warm-up's bodies, then the measured batches and their bodies."""
    batches = make_batches(args.warmup + args.batches, days=args.days)
    warmup, measured = batches[: args.warmup], batches[args.warmup :]
    return (
        [json.dumps({"records": batch}).encode() for batch in warmup],
        measured,
        [json.dumps({"records": batch}).encode() for batch in measured],
    )


def start_of_cycle(args: argparse.Namespace, port: int, key: str, warmup: list[bytes]) -> dict:
    """A checkpoint and the other databases' WAL (checkpoint_and_listen), then the warm-up batches,
    posted but not measured, and their census rows moved: with --warmup the phase measures the same
    work later in the checkpoint cycle, when fewer of the pages it writes are written for the first
    time since the checkpoint."""
    background = checkpoint_and_listen(args.quiet_seconds)
    if warmup:
        from django.db import connection

        from telemetry.maintenance import census_move_staged

        post_all(port, key, warmup, args.threads, 3600, halfway=threading.Event())
        # The warm-up's census rows moved now, as the maintenance that runs every few minutes would
        # have: the measured maintenance then moves what the measured batches staged, as without it.
        census_move_staged()
        connection.close()
    return background


def run_phase(size: int, args: argparse.Namespace) -> dict:
    """One measured phase on a fresh database pre-filled with `size` records; prints its block and
    returns its figures."""
    key, filled = prepare_database(size, args)
    from django.db import connection

    connection.close()  # the benchmark's own connection is not ingestion's: closed before measuring
    warmup, batches, bodies = phase_batches(args)

    # The references are measured before and after the end-to-end run and averaged, so that a change
    # in the machine's load during the run does not favour either side.
    plain_before = copy_rate(batches, plain=True)
    portal_before = copy_rate(batches, plain=False)
    connection.close()
    port = free_port()
    server = start_gunicorn(port, args.workers)
    sampler = MemorySampler(server.pid)
    sampler.start()
    background = start_of_cycle(args, port, key, warmup)
    halfway = threading.Event()
    maintenance = Maintenance(trigger=halfway)
    postgres = PostgresSampler()
    postgres.start()
    reservation = reserve_wal()
    wal_before = wal_position()
    client_cpu = time.process_time()
    start_cpu = cpu_seconds(process_tree(server.pid))  # start-up and imports are not ingestion
    maintenance.start()
    try:
        posted, records, elapsed, totals, latencies, failures = post_all(
            port, key, bodies, args.threads, args.seconds, halfway=halfway
        )
        maintenance.join()
        client_cpu = time.process_time() - client_cpu - maintenance.cpu
        server_cpu = cpu_seconds(process_tree(server.pid)) - start_cpu
        # Backends report their WAL counters to pg_stat_wal when idle, at most once a second.
        time.sleep(1.5)
        database_cpu = postgres.stop()
        wal_after = wal_position()
        wal = wal_written(wal_before, wal_after)
        split, by_table = wal_breakdown(wal_before["lsn"], wal_after["lsn"], by_table=args.fpi_by_table)
        if reservation is not None:
            reservation.close()
    finally:
        sampler.running = False
        sampler.join()
        server.terminate()
        server.wait(timeout=30)
    plain_after = copy_rate(batches, plain=True)
    portal_after = copy_rate(batches, plain=False)
    plain, portal = (plain_before + plain_after) / 2, (portal_before + portal_after) / 2
    orm = orm_rate(batches[: args.orm_batches]) if args.orm_batches else 0.0
    end_to_end = records / elapsed
    per_batch = max(posted, 1)

    figures = {
        "size": size,
        "prefill": filled,
        "end_to_end": end_to_end,
        "plain": plain,
        "portal": portal,
        "orm": orm,
        "gunicorn_ms": 1000 * server_cpu / per_batch,
        "postgres_ms": 1000 * database_cpu.get("ingestion", 0.0) / per_batch,
        "autovacuum_ms": 1000 * database_cpu.get("autovacuum", 0.0) / per_batch,
        "shared_ms": 1000 * database_cpu.get("shared", 0.0) / per_batch,
        "maintenance_postgres_s": database_cpu.get("maintenance", 0.0),
        "client_ms": 1000 * client_cpu / per_batch,
        "wal_bytes": wal["lsn_bytes"] / per_batch,
        "wal_records": wal["records"] / per_batch,
        "wal_fpi": wal["fpi"] / per_batch,
        # None: pg_waldump could not read it.
        "wal_record_bytes": split["record_bytes"] / per_batch if split else None,
        "wal_fpi_bytes": split["fpi_bytes"] / per_batch if split else None,
        "background_wal_per_s": background["lsn_bytes"] / background["seconds"],
        "run_wal_per_s": wal["lsn_bytes"] / wal["seconds"],
        "failures": len(failures),
        "fpi_by_table": {name: (n / per_batch, b / per_batch) for name, (n, b) in (by_table or {}).items()},
        **maintenance_figures(maintenance, latencies),
    }

    figures.update(
        posted=posted,
        elapsed=elapsed,
        totals=totals,
        plain_before=plain_before,
        plain_after=plain_after,
        portal_before=portal_before,
        portal_after=portal_after,
        stat_wal_bytes=wal["bytes"] / per_batch,
        background_seconds=background["seconds"],
        maintenance_after=len(latencies) // 2,
        maintenance_output=maintenance.output.getvalue().splitlines(),
        maintenance_error=repr(maintenance.error) if maintenance.error else "",
        first_failure=repr(failures[0]) if failures else "",
        peak_total_mib=sampler.peak_total / 1024,
        peak_single_mib=sampler.peak_single / 1024,
    )
    print_phase(figures)
    return figures


def print_phase(f: dict) -> None:
    """A phase's block (`f`: its figures)."""
    print(f"\n== {f['size']:,} existing records ==")
    if f["prefill"] and f["prefill"].get("reused"):
        filled = f["prefill"]
        print(
            f"prefill: reused the database filled earlier today ({DATABASE_URL}); the purged days filled "
            f"again: {filled['records']:,} records in {filled['fill_s']:.0f} s, VACUUM ANALYZE "
            f"{filled['vacuum_s']:.0f} s; {filled['receipts']:,} receipts, telemetry tables "
            f"{filled['bytes'] / 2**30:.1f} GiB"
        )
    elif f["prefill"]:
        filled = f["prefill"]
        print(
            f"prefill: {filled['records']:,} records and {filled['receipts']:,} receipts in {filled['fill_s']:.0f} s "
            f"({filled['records'] / filled['fill_s']:,.0f} records/s), partitions {filled['partitions_s']:.1f} s, "
            f"VACUUM ANALYZE {filled['vacuum_s']:.0f} s; telemetry tables {filled['bytes'] / 2**30:.1f} GiB"
        )
    print(
        f"end to end:  {f['end_to_end']:10,.0f} records/s  ({f['posted']} batches in {f['elapsed']:.1f} s; "
        f"{f['totals']})"
    )
    print(
        f"COPY into plain tables (uuid key, no index; the physical limit): {f['plain']:,.0f} records/s "
        f"(before {f['plain_before']:,.0f}, after {f['plain_after']:,.0f}) -> end to end is "
        f"{100 * f['end_to_end'] / f['plain']:.1f}% of it"
    )
    print(
        f"COPY into the portal's tables (their indexes, unpartitioned): {f['portal']:,.0f} records/s "
        f"(before {f['portal_before']:,.0f}, after {f['portal_after']:,.0f}) -> end to end is "
        f"{100 * f['end_to_end'] / f['portal']:.0f}% of it"
    )
    if f["orm"]:
        print(f"ORM row by row: {f['orm']:,.0f} records/s -> end to end is {f['end_to_end'] / f['orm']:.1f}x that")
    print(
        f"CPU per 1000-record batch: gunicorn {f['gunicorn_ms']:.1f} ms; PostgreSQL {f['postgres_ms']:.1f} ms "
        f"(the workers' connections), autovacuum {f['autovacuum_ms']:.1f} ms, shared writers "
        f"{f['shared_ms']:.1f} ms (checkpointer, bgwriter, walwriter: all databases); client {f['client_ms']:.1f} ms"
    )
    print(
        f"WAL per batch: {f['wal_bytes'] / 2**20:.2f} MiB (pg_stat_wal: {f['stat_wal_bytes'] / 2**20:.2f} MiB), "
        f"{f['wal_records']:,.0f} records, {f['wal_fpi']:,.0f} full-page images. Cluster-wide: other databases "
        f"wrote {f['background_wal_per_s'] / 2**20:.2f} MiB/s in the {f['background_seconds']:.0f} s before, "
        f"this run {f['run_wal_per_s'] / 2**20:.2f} MiB/s"
    )
    if f.get("wal_record_bytes") is not None:
        print(
            f"WAL per batch by pg_waldump: records {f['wal_record_bytes'] / 2**20:.2f} MiB, full-page images "
            f"{f['wal_fpi_bytes'] / 2**20:.2f} MiB (the images: 8 KiB less the page's hole per page first written "
            "since the checkpoint, so their share falls as a phase runs longer after it)"
        )
    if f.get("fpi_by_table"):
        ranked = sorted(f["fpi_by_table"].items(), key=lambda item: -item[1][1])
        print(
            "full-page images per batch by table or index (images, KiB): "
            + "; ".join(f"{name} {count:,.1f} ({size / 1024:,.0f})" for name, (count, size) in ranked[:12])
        )
    print(
        f"maintenance during ingestion (after {f['maintenance_after']} batches): {f['maintenance_s']:.2f} s in all, "
        f"its PostgreSQL CPU {f['maintenance_postgres_s']:.2f} s; {f['detached']} DETACH ... CONCURRENTLY "
        f"{f['detach_s']:.3f} s (longest {f['detach_max_s']:.3f} s), {f['partitions_dropped']} DROP TABLE "
        f"{f['drop_s']:.3f} s (longest {f['drop_max_s']:.3f} s); counting the dropped partitions' rows "
        f"{f['counting_s']:.2f} s"
    )
    for line in f["maintenance_output"]:
        print(f"    {line}")
    if f["maintenance_error"]:
        print(f"    the maintenance failed: {f['maintenance_error']}")
    print(
        f"batch latency: outside the maintenance's window median {f['latency_outside_median']:.2f} s, "
        f"longest {f['latency_outside_max']:.2f} s; the {f['batches_inside']} batches that overlapped it median "
        f"{f['latency_inside_median']:.2f} s, longest {f['latency_inside_max']:.2f} s; "
        f"{f['failures']} batches failed" + (f", e.g. {f['first_failure']}" if f["failures"] else "")
    )
    print(
        f"gunicorn peak RSS: {f['peak_total_mib']:.0f} MiB all processes, {f['peak_single_mib']:.0f} MiB the "
        "largest process"
    )


def compare(phases: list[dict]) -> None:
    """The figures at size as ratios to the first phase's (the empty database), same invocation."""
    empty = phases[0]

    def ratio(figures: dict, name: str) -> str:
        return f"{figures[name] / empty[name]:.2f}x empty" if empty[name] else "empty: 0"

    for figures in phases[1:]:
        size = figures["size"]
        label = f"{size / 1e6:g}M" if size >= 1_000_000 else f"{size:,}"
        print(f"\n== at {size:,} existing records, against the empty database measured in this invocation ==")
        print(f"PostgreSQL CPU per batch at {label}: {figures['postgres_ms']:.1f} ms ({ratio(figures, 'postgres_ms')})")
        print(
            f"WAL per batch at {label}: {figures['wal_bytes'] / 2**20:.2f} MiB ({ratio(figures, 'wal_bytes')}); "
            f"full-page images {figures['wal_fpi']:,.0f} ({ratio(figures, 'wal_fpi')}); "
            f"WAL records {figures['wal_records']:,.0f} ({ratio(figures, 'wal_records')})"
        )
        if figures.get("wal_record_bytes") is not None and empty.get("wal_record_bytes"):
            print(
                f"WAL per batch at {label} without the full-page images: {figures['wal_record_bytes'] / 2**20:.2f} MiB "
                f"({ratio(figures, 'wal_record_bytes')}); the images: {figures['wal_fpi_bytes'] / 2**20:.2f} MiB "
                f"(empty: {empty['wal_fpi_bytes'] / 2**20:.2f} MiB)"
            )
        print(f"gunicorn CPU per batch at {label}: {figures['gunicorn_ms']:.1f} ms ({ratio(figures, 'gunicorn_ms')})")
        print(
            f"autovacuum CPU per batch at {label}: {figures['autovacuum_ms']:.1f} ms "
            f"(empty: {empty['autovacuum_ms']:.1f})"
        )
        print(
            f"end to end at {label}: {figures['end_to_end']:,.0f} records/s ({ratio(figures, 'end_to_end')}), "
            f"{100 * figures['end_to_end'] / figures['plain']:.1f}% of the plain-table COPY ceiling "
            f"(empty: {100 * empty['end_to_end'] / empty['plain']:.1f}%)"
        )
        print(
            f"purge at {label}: {figures['partitions_dropped']} partitions dropped, "
            f"DDL {figures['detach_s'] + figures['drop_s']:.3f} s "
            f"in all (longest statement {max(figures['detach_max_s'], figures['drop_max_s']):.3f} s); longest batch "
            f"during it {figures['latency_inside_max']:.2f} s against {figures['latency_outside_max']:.2f} s outside; "
            f"{figures['failures']} batches failed"
        )


def code_state() -> float:
    """The newest modification time of the portal's code: phases compared must run the same code."""
    return max(
        path.stat().st_mtime for app in ("portal", "telemetry", "tenants") for path in (ROOT / app).rglob("*.py")
    )


def batch_count(text: str) -> int:
    """--warmup: 0 or more batches."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError("a number of batches, 0 or more")
    return int(text)


def days_back(text: str) -> int:
    """--days: 1 to FILLED_DAYS (the days the pre-fill fills, today included)."""
    if not text.isdigit() or not 1 <= int(text) <= FILLED_DAYS:
        raise argparse.ArgumentTypeError(f"a number of days from 1 to {FILLED_DAYS}")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=300, help="batches of 1000 records to post (default 300)")
    parser.add_argument("--seconds", type=float, default=90, help="stop posting after this long (default 90)")
    parser.add_argument(
        "--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers (default 2 x CPUs + 1)"
    )
    parser.add_argument("--threads", type=int, default=0, help="client threads (default 2 x workers)")
    parser.add_argument(
        "--days",
        type=days_back,
        default=7,
        metavar=f"1-{FILLED_DAYS}",
        help="the posted records are dated over the last N days, today included, among the days the pre-fill "
        "fills (default 7; 1: today only)",
    )
    parser.add_argument("--orm-batches", type=int, default=3, help="batches saved row by row (default 3; 0: none)")
    parser.add_argument(
        "--prefill",
        default="0",
        help="existing records before the measured run: N (the empty database, then N), or sizes separated by "
        "commas, the empty database first whether listed or not (default 0: the empty database only)",
    )
    parser.add_argument("--fill-connections", type=int, default=2, help="connections that pre-fill at once (default 2)")
    parser.add_argument(
        "--quiet-seconds", type=float, default=5, help="seconds of other databases' WAL measured before (default 5)"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep each pre-filled database (named <database>_<size>) and reuse it when it was filled today: "
        "only the days the last run purged are filled again (the empty database is always made afresh)",
    )
    parser.add_argument(
        "--warmup",
        type=batch_count,
        default=0,
        help="batches posted after each phase's checkpoint and before its measured batches, not measured "
        "(default 0: the phase starts at the checkpoint, when every page first written costs a full-page "
        "image; N: it measures the same work later in the checkpoint cycle)",
    )
    parser.add_argument(
        "--fpi-by-table",
        action="store_true",
        help="also list each phase's full-page images per table and index, read from the WAL with pg_waldump "
        "(which tables' pages cost them; adds up to a minute per phase)",
    )
    parser.add_argument("--phase", type=int, help=argparse.SUPPRESS)  # one phase, in a process of its own
    parser.add_argument("--results", help=argparse.SUPPRESS)
    args = parser.parse_args()
    # Enough requests in flight that a worker waiting for PostgreSQL never leaves a CPU idle.
    args.threads = args.threads or 2 * args.workers

    if args.phase is not None:
        figures = run_phase(args.phase, args)
        Path(args.results).write_text(json.dumps(figures))
        sys.exit(1 if figures["failures"] else 0)

    sizes = [int(size.replace("_", "")) for size in args.prefill.split(",")]
    sizes = [0, *(size for size in sizes if size)]
    print(f"database {DATABASE_URL}; {os.cpu_count()} CPUs; {args.workers} gunicorn workers; {args.threads} threads")
    print(
        f"phases: {', '.join(f'{size:,}' for size in sizes)} existing records; {args.batches} batches of {BATCH}, "
        + ("records dated today" if args.days == 1 else f"records dated over the last {args.days} days")
        + (f"; measured after {args.warmup} warm-up batches past each checkpoint" if args.warmup else "")
    )
    phases, failed = [], False
    passed = [
        *("--batches", str(args.batches), "--seconds", str(args.seconds), "--workers", str(args.workers)),
        *("--threads", str(args.threads), "--orm-batches", str(args.orm_batches), "--days", str(args.days)),
        *("--quiet-seconds", str(args.quiet_seconds), "--fill-connections", str(args.fill_connections)),
        *(["--reuse"] if args.reuse else []),
        *("--warmup", str(args.warmup)),
        *(["--fpi-by-table"] if args.fpi_by_table else []),
    ]
    code = code_state()
    with tempfile.TemporaryDirectory() as directory:
        for size in sizes:
            # Each phase in a fresh process: nothing cached from the previous database (partitions known).
            results = Path(directory) / f"{size}.json"
            command = [sys.executable, __file__, *passed, "--phase", str(size), "--results", str(results)]
            completed = subprocess.run(command, check=False)
            failed = failed or completed.returncode != 0
            if not results.exists():
                raise SystemExit(f"the phase with {size:,} existing records stopped (exit {completed.returncode})")
            phases.append(json.loads(results.read_text()))
            sys.stdout.flush()
    if len(phases) > 1:
        compare(phases)
        if code_state() != code:
            print("\nWARNING: the portal's code changed during this invocation: the phases ran different code.")
    if failed:
        raise SystemExit("some batches failed")


if __name__ == "__main__":
    main()

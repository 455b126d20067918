"""How fast are the dashboard and the record browsers on a big database? (README, "Benchmarks")

    .venv/bin/python benchmarks/browse.py --rows 100000       # try it small first
    .venv/bin/python benchmarks/browse.py                     # 10 million rows

On PostgreSQL only, in its own database (BROWSE_BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/portal_bench), created and migrated by the script. It fills the
record tables with --rows rows in all (40 % error reports, 40 % usage, 20 % census; three tenants of
unequal size, 60 days, several pools, a skewed spread of error codes and 2,000 users) with INSERT ...
SELECT from generate_series, derives the count tables from them, and then times, with Django's test
Client signed in as support staff, the dashboard and the record browsers' first page, unfiltered and
filtered, against the default Django admin change list of the same table with the same filter: a
plain `admin.ModelAdmin` registered on a separate AdminSite in this script. A filled database is
reused when it already holds the asked number of rows (--refill to start again).

The record tables are partitioned by day on PostgreSQL (telemetry/partitions.py): the fill makes the
60 days' partitions first, drops the tables' secondary indexes, fills, and rebuilds each index on each
partition under the name the portal gives it (`usage_time_p20261203`), then attaches it to the
parent's. It ends with the usage browser's SQL timed on the partitioned table and on a plain copy of it
with the same indexes, made in the same run (planning, execution and backend CPU, as ratios).
"""

import argparse
import os
import secrets
import statistics
import sys
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"
DAYS = 60
USERS = 2000
TYPED_USER = "user0042"
ERROR_CODES = [
    "SIGNIN_TIMEOUT",
    "MEDIA_CONNECTIVITY_FAILURE",
    "CALL_DROPPED",
    "IM_DELIVERY_FAILED",
    "MEETING_JOIN_FAILED",
    "PRESENCE_UPDATE_FAILED",
    "CERTIFICATE_INVALID",
    "DNS_LOOKUP_FAILED",
    "PROXY_AUTH_REQUIRED",
    "CONTACT_LIST_SYNC_FAILED",
    "AUDIO_DEVICE_LOST",
    "RARE_FIRMWARE_BUG",
]
TENANTS = [  # slug, domain, share of the traffic (in tenths), pools
    ("contoso", "contoso.com", 6, ["pool01.contoso.com", "pool02.contoso.com", "pool01.dublin.contoso.com"]),
    ("fabrikam", "fabrikam.com", 3, ["pool01.fabrikam.com", "edge.fabrikam.com"]),
    ("tailspin", "tailspintoys.com", 1, ["pool01.tailspintoys.com"]),
]
PARTNERS = ["", "", "", "microsoft.com", "northwindtraders.com", "adatum.com", "litwareinc.com", "fabrikam.com"]


def configure(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    # Plain static files and a generated development key: this is a local measurement, not a deployment.
    os.environ.setdefault("DJANGO_DEBUG", "true")
    os.environ.setdefault("DJANGO_SECURE_SSL", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def ensure_database(database_url: str, *, recreate: bool) -> None:
    """The benchmark's own database; recreated on --refill, so that it always has today's schema."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(server, autocommit=True) as connection:
        if recreate:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def progress(label: str, done: int, total: int) -> None:
    filled = int(30 * done / total)
    sys.stderr.write(f"\r{label:<28} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def ensure_tenants() -> dict:
    from tenants import services
    from tenants.models import Tenant

    actor = services.Actor.for_command("benchmark")
    slots = []  # one entry per tenth of the traffic and pool: (tenant id, pool id)
    for slug, domain, share, fqdns in TENANTS:
        tenant = Tenant.objects.all_tenants().filter(slug=slug).first() or services.tenant_create(
            slug=slug, name=slug.capitalize(), domain=domain, actor=actor
        )
        pools = [
            tenant.pools.filter(fqdn=fqdn).first() or services.pool_create(tenant=tenant, fqdn=fqdn, actor=actor)
            for fqdn in fqdns
        ]
        for index in range(share * len(fqdns) * 2):
            slots.append((tenant.pk, pools[index % len(pools)].pk))
    return {"tenant_ids": [t for t, _ in slots], "pool_ids": [p for _, p in slots]}


def record_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM telemetry_errorreport) + (SELECT count(*) FROM telemetry_usagerecord)"
            " + (SELECT count(*) FROM telemetry_censusrecord)"
        )
        return cursor.fetchone()[0]


ERROR_SQL = """
INSERT INTO telemetry_errorreport (tenant_id, pool_id, record_id, day, timestamp, client, user_hash,
    message_direction, conversation_state, conversation_thread_id, error_code, error_log, ip_network,
    sip_uri_hash, os_name, crash)
SELECT (%(tenant_ids)s::bigint[])[g.slot], (%(pool_ids)s::bigint[])[g.slot], gen_random_uuid(), %(day)s,
    %(day)s::timestamptz + random() * interval '1 day', (%(clients)s::text[])[1 + floor(random() * 3)::int],
    (%(users)s::text[])[g.usr], CASE WHEN random() < 0.5 THEN 'incoming' ELSE 'outgoing' END, 'active',
    md5(random()::text), (%(codes)s::text[])[1 + floor(power(random(), 2.5) * %(code_count)s)::int],
    'error log of a benchmark record', '203.0.113.0/24', md5(random()::text), 'Windows', false
FROM (SELECT 1 + floor(random() * %(slot_count)s)::int AS slot, 1 + floor(random() * %(user_count)s)::int AS usr
      FROM generate_series(1, %(rows)s)) AS g
"""

USAGE_SQL = """
INSERT INTO telemetry_usagerecord (tenant_id, pool_id, record_id, day, timestamp, client, ims_sent, ims_received,
    meeting_join_attempts, meeting_join_successes, call_minutes, federation_partner)
SELECT (%(tenant_ids)s::bigint[])[g.slot], (%(pool_ids)s::bigint[])[g.slot], gen_random_uuid(), %(day)s,
    %(day)s::timestamptz + random() * interval '1 day', (%(clients)s::text[])[1 + floor(random() * 3)::int],
    floor(random() * 40)::int, floor(random() * 40)::int, g.joins, greatest(g.joins - (random() < 0.1)::int, 0),
    floor(random() * 60)::int, (%(partners)s::text[])[1 + floor(random() * %(partner_count)s)::int]
FROM (SELECT 1 + floor(random() * %(slot_count)s)::int AS slot, floor(random() * 4)::int AS joins
      FROM generate_series(1, %(rows)s)) AS g
"""

CENSUS_SQL = """
INSERT INTO telemetry_censusrecord (id, day, timestamp, client, app_name, device_model, os_name, os_version,
    user_language, user_hash, device_id, sign_in_attempts, sign_in_failures)
SELECT gen_random_uuid(), %(day)s, %(day)s::timestamptz + random() * interval '1 day', g.client,
    CASE g.client WHEN 'mobile' THEN 'iPhoneSkype' WHEN 'web' THEN 'SkypeWeb' ELSE 'Lync.exe' END,
    'Surface Laptop', CASE g.client WHEN 'mobile' THEN 'iPhoneiOS' ELSE 'Windows' END,
    CASE WHEN random() < 0.5 THEN '10.0.19045' ELSE '10.0.22631' END,
    CASE WHEN random() < 0.8 THEN 'EN-US' ELSE 'DE-DE' END, md5(random()::text), gen_random_uuid(), 1, 0
FROM (SELECT (%(clients)s::text[])[1 + floor(random() * 3)::int] AS client FROM generate_series(1, %(rows)s)) AS g
"""

COUNT_SQL = [
    "TRUNCATE telemetry_ingestioncount, telemetry_usagedailysum, telemetry_federationpartnerdailycount,"
    " telemetry_errorcodedailycount",
    """INSERT INTO telemetry_ingestioncount (tenant_id, day, category, client, outcome, reason, records)
       SELECT tenant_id, day, 'error', client, 'accepted', '', count(*) FROM telemetry_errorreport GROUP BY 1, 2, 4
       UNION ALL
       SELECT tenant_id, day, 'usage', client, 'accepted', '', count(*) FROM telemetry_usagerecord GROUP BY 1, 2, 4""",
    # Census records carry no tenant: their ledger rows are spread over the tenants by traffic share.
    """INSERT INTO telemetry_ingestioncount (tenant_id, day, category, client, outcome, reason, records)
       SELECT t.id, c.day, 'census', c.client, 'accepted', '', greatest(1, (c.n * t.share)::bigint)
       FROM (SELECT day, client, count(*) AS n FROM telemetry_censusrecord GROUP BY 1, 2) AS c
       CROSS JOIN (SELECT id, CASE slug WHEN 'contoso' THEN 0.6 WHEN 'fabrikam' THEN 0.3 ELSE 0.1 END AS share
                   FROM tenants_tenant) AS t""",
    """INSERT INTO telemetry_usagedailysum (tenant_id, pool_id, day, records, ims_sent, ims_received,
           meeting_join_attempts, meeting_join_successes, call_minutes)
       SELECT tenant_id, pool_id, day, count(*), sum(ims_sent), sum(ims_received), sum(meeting_join_attempts),
           sum(meeting_join_successes), sum(call_minutes)
       FROM telemetry_usagerecord GROUP BY 1, 2, 3""",
    """INSERT INTO telemetry_federationpartnerdailycount (tenant_id, day, partner, records)
       SELECT tenant_id, day, federation_partner, count(*) FROM telemetry_usagerecord
       WHERE federation_partner <> '' GROUP BY 1, 2, 3""",
    """INSERT INTO telemetry_errorcodedailycount (tenant_id, day, error_code, records)
       SELECT tenant_id, day, error_code, count(*) FROM telemetry_errorreport GROUP BY 1, 2, 3""",
]


def fill(rows: int) -> None:
    from django.db import connection, transaction

    from telemetry.partitions import day_partitions, ensure_day_partitions
    from telemetry.pseudonymize import hash_user_id

    slots = ensure_tenants()
    today = datetime.now(tz=UTC).date()
    days = [today - timedelta(days=DAYS - 1 - offset) for offset in range(DAYS)]
    ensure_day_partitions(set(days))
    # Pseudonyms are per tenant; the fill shares one set of users among the tenants, made under the
    # first tenant's key (contoso's, the tenant whose looked-up user the benchmark times).
    users = [hash_user_id(f"user{index:04d}", tenant_id=slots["tenant_ids"][0]) for index in range(USERS)]
    common = {
        **slots,
        "slot_count": len(slots["tenant_ids"]),
        "users": users,
        "user_count": USERS,
        "codes": ERROR_CODES,
        "code_count": len(ERROR_CODES),
        "partners": PARTNERS,
        "partner_count": len(PARTNERS),
        "clients": ["desktop", "mobile", "web"],
    }
    shares = [("error reports", ERROR_SQL, 0.4), ("usage records", USAGE_SQL, 0.4), ("census records", CENSUS_SQL, 0.2)]
    tables = ["telemetry_errorreport", "telemetry_usagerecord", "telemetry_censusrecord"]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}, telemetry_recordreceipt")
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '512MB'")
        # Building an index once over the filled table is far faster than updating it row by row:
        # the secondary indexes (as the migrations made them) are dropped now and rebuilt below.
        cursor.execute(
            "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) AND NOT EXISTS"
            " (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [tables],
        )
        indexes = cursor.fetchall()
        for _table, name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for label, sql, share in shares:
            per_day = round(rows * share / DAYS)
            remainder = round(rows * share) - per_day * DAYS
            for offset, day in enumerate(days):
                with transaction.atomic():
                    cursor.execute(sql, {**common, "day": day, "rows": per_day + (remainder if offset == 0 else 0)})
                progress(f"Filling {label}", offset + 1, DAYS)
        partitions = {table: day_partitions(cursor, [table]) for table in tables}
        steps = sum(1 + len(partitions[table]) for table, _, _ in indexes)
        done = 0
        for table, name, definition in indexes:
            # The parent's index (ON ONLY: none of the partitions' yet), then each partition's under the
            # portal's name for it, attached to the parent's (telemetry/partitions.py names them so).
            _head, rest = definition.split(" USING ", 1)
            cursor.execute(f'CREATE INDEX "{name}" ON ONLY "{table}" USING {rest}')
            done += 1
            for partition in partitions[table]:
                child = f"{name}_p{partition.day:%Y%m%d}"
                cursor.execute(f'CREATE INDEX "{child}" ON "{partition.name}" USING {rest}')
                cursor.execute(f'ALTER INDEX "{name}" ATTACH PARTITION "{child}"')
                done += 1
                progress("Indexing", done, steps)
        for statement in COUNT_SQL:
            cursor.execute(statement)
        sys.stderr.write("Analyzing...\n")
        cursor.execute("ANALYZE")


def bench_urls():
    """The portal's URLs plus a default Django admin of the record tables, on its own AdminSite."""
    from django.contrib import admin
    from django.urls import path

    import portal.urls
    from telemetry.models import CensusRecord, ErrorReport, UsageRecord

    site = admin.AdminSite(name="plain")

    class PlainErrorReportAdmin(admin.ModelAdmin):
        list_display = ("timestamp", "tenant", "pool", "client", "error_code", "user_hash", "message_direction")
        list_filter = ("tenant", "pool", "client")
        search_fields = ("error_code", "user_hash")

    class PlainUsageRecordAdmin(admin.ModelAdmin):
        list_display = ("timestamp", "tenant", "pool", "client", "ims_sent", "call_minutes", "federation_partner")
        list_filter = ("tenant", "pool", "client")

    class PlainCensusRecordAdmin(admin.ModelAdmin):
        list_display = ("timestamp", "client", "app_name", "os_name", "os_version", "user_language")
        list_filter = ("client",)

    site.register(ErrorReport, PlainErrorReportAdmin)
    site.register(UsageRecord, PlainUsageRecordAdmin)
    site.register(CensusRecord, PlainCensusRecordAdmin)
    module = types.ModuleType("bench_urls")
    module.urlpatterns = [*portal.urls.urlpatterns, path("plain-admin/", site.urls)]
    sys.modules["bench_urls"] = module
    return "bench_urls"


def measure(client, url: str, repeat: int) -> float:
    """Median milliseconds of `repeat` requests after one warm-up; the page must answer 200."""
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, url
    return statistics.median(timings)


def run(repeat: int) -> None:
    from django.conf import settings
    from django.contrib.auth.models import Permission
    from django.test import Client
    from django.urls import clear_url_caches

    from telemetry.pseudonymize import hash_user_id
    from tenants import services
    from tenants.models import Pool, PortalRole, Tenant

    settings.ROOT_URLCONF = bench_urls()
    clear_url_caches()
    user = services.portal_user_create(
        username=f"bench-support-{int(time.time())}",
        password=secrets.token_urlsafe(16),
        role=PortalRole.Role.SUPPORT,
        tenant=None,
        actor=services.Actor.for_command("benchmark"),
    )
    # The default admin asks Django's model permissions (the portal's admin asks the portal role).
    user.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_errorreport", "view_usagerecord", "view_censusrecord"],
            content_type__app_label="telemetry",
        )
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    contoso = Tenant.objects.all_tenants().get(slug="contoso").pk
    typed_hash = hash_user_id(TYPED_USER, tenant_id=contoso)
    # The busiest pool and the smallest (the one of the smallest tenant), for the pool filter.
    busy_pool = Pool.objects.all_tenants().get(fqdn="pool01.contoso.com").pk
    small_pool = Pool.objects.all_tenants().get(fqdn="pool01.tailspintoys.com").pk
    week = f"from_day={_days_ago(13)}&to_day={_days_ago(7)}"
    plain_week = f"timestamp__gte={_days_ago(13)}&timestamp__lt={_days_ago(6)}"
    # The default admin has an action column before the timestamp: its sort index is one more.
    # (label, the portal's page, the default admin's page of the same table with the same filter)
    cases = [
        ("dashboard, contoso, 30 days", "/portal/dashboard/?tenant=contoso", None),
        ("dashboard, contoso, 60 days", f"/portal/dashboard/?tenant=contoso&from={_days_ago(59)}", None),
        ("dashboard, all tenants, 30 days", "/portal/dashboard/all/", None),
        ("dashboard, all tenants, 60 days", f"/portal/dashboard/all/?from={_days_ago(59)}", None),
        ("error reports, first page", "/admin/telemetry/errorreport/", "/plain-admin/telemetry/errorreport/"),
        (
            "error reports, error code",
            "/admin/telemetry/errorreport/?q=CERTIFICATE_INVALID",
            "/plain-admin/telemetry/errorreport/?q=CERTIFICATE_INVALID",
        ),
        (
            # The page the "find a user by their user ID" form redirects to (the typed ID is hashed
            # by that form's POST and never appears in a URL); the default admin searches the hash.
            "error reports, looked-up user",
            f"/admin/telemetry/errorreport/?user_hash={typed_hash}",
            f"/plain-admin/telemetry/errorreport/?q={typed_hash}",
        ),
        (
            "error reports, no match",
            "/admin/telemetry/errorreport/?q=NO_SUCH_ERROR",
            "/plain-admin/telemetry/errorreport/?q=NO_SUCH_ERROR",
        ),
        (
            "error reports, tenant",
            f"/admin/telemetry/errorreport/?tenant__id__exact={contoso}",
            f"/plain-admin/telemetry/errorreport/?tenant__id__exact={contoso}",
        ),
        (
            "error reports, oldest first",
            "/admin/telemetry/errorreport/?o=0",
            "/plain-admin/telemetry/errorreport/?o=1",
        ),
        (
            "error reports, a week",
            f"/admin/telemetry/errorreport/?{week}",
            f"/plain-admin/telemetry/errorreport/?{plain_week}",
        ),
        (
            "error reports, tenant, a week",
            f"/admin/telemetry/errorreport/?tenant__id__exact={contoso}&{week}",
            f"/plain-admin/telemetry/errorreport/?tenant__id__exact={contoso}&{plain_week}",
        ),
        (
            "error reports, busy pool",
            f"/admin/telemetry/errorreport/?pool__id__exact={busy_pool}",
            f"/plain-admin/telemetry/errorreport/?pool__id__exact={busy_pool}",
        ),
        (
            "error reports, small pool, oldest",
            f"/admin/telemetry/errorreport/?pool__id__exact={small_pool}&o=0",
            f"/plain-admin/telemetry/errorreport/?pool__id__exact={small_pool}&o=1",
        ),
        (
            "error reports, client",
            "/admin/telemetry/errorreport/?client__exact=mobile",
            "/plain-admin/telemetry/errorreport/?client__exact=mobile",
        ),
        (
            "error reports, code filter",
            "/admin/telemetry/errorreport/?error_code=SIGNIN_TIMEOUT",
            "/plain-admin/telemetry/errorreport/?error_code__iexact=SIGNIN_TIMEOUT",
        ),
        (
            "error reports, rare code, a week",
            f"/admin/telemetry/errorreport/?error_code=RARE_FIRMWARE_BUG&{week}",
            f"/plain-admin/telemetry/errorreport/?error_code__iexact=RARE_FIRMWARE_BUG&{plain_week}",
        ),
        (
            "error reports, code any case",
            "/admin/telemetry/errorreport/?q=certificate_invalid",
            "/plain-admin/telemetry/errorreport/?error_code__iexact=certificate_invalid",
        ),
        ("usage, first page", "/admin/telemetry/usagerecord/", "/plain-admin/telemetry/usagerecord/"),
        ("usage, oldest first", "/admin/telemetry/usagerecord/?o=0", "/plain-admin/telemetry/usagerecord/?o=1"),
        (
            "usage, a week",
            f"/admin/telemetry/usagerecord/?{week}",
            f"/plain-admin/telemetry/usagerecord/?{plain_week}",
        ),
        (
            "usage, busy pool",
            f"/admin/telemetry/usagerecord/?pool__id__exact={busy_pool}",
            f"/plain-admin/telemetry/usagerecord/?pool__id__exact={busy_pool}",
        ),
        (
            "usage, small pool, a week",
            f"/admin/telemetry/usagerecord/?pool__id__exact={small_pool}&{week}",
            f"/plain-admin/telemetry/usagerecord/?pool__id__exact={small_pool}&{plain_week}",
        ),
        (
            "usage, client",
            "/admin/telemetry/usagerecord/?client__exact=web",
            "/plain-admin/telemetry/usagerecord/?client__exact=web",
        ),
        (
            "usage, tenant",
            f"/admin/telemetry/usagerecord/?tenant__id__exact={contoso}",
            f"/plain-admin/telemetry/usagerecord/?tenant__id__exact={contoso}",
        ),
        ("census, first page", "/admin/telemetry/censusrecord/", "/plain-admin/telemetry/censusrecord/"),
        (
            "census, client",
            "/admin/telemetry/censusrecord/?client__exact=web",
            "/plain-admin/telemetry/censusrecord/?client__exact=web",
        ),
        ("census, oldest first", "/admin/telemetry/censusrecord/?o=0", "/plain-admin/telemetry/censusrecord/?o=1"),
        (
            "census, a week",
            f"/admin/telemetry/censusrecord/?{week}",
            f"/plain-admin/telemetry/censusrecord/?{plain_week}",
        ),
        (
            "census, client, a week",
            f"/admin/telemetry/censusrecord/?client__exact=mobile&{week}",
            f"/plain-admin/telemetry/censusrecord/?client__exact=mobile&{plain_week}",
        ),
    ]
    print(f"\n{'page':<36} {'portal ms':>10} {'default admin ms':>17} {'ratio':>7}")
    for label, url, plain_url in cases:
        portal_ms = measure(client, url, repeat)
        if plain_url is None:
            print(f"{label:<36} {portal_ms:>10.1f} {'-':>17} {'-':>7}")
            continue
        plain_ms = measure(client, plain_url, repeat)
        print(f"{label:<36} {portal_ms:>10.1f} {plain_ms:>17.1f} {portal_ms / plain_ms:>7.3f}")
    print(f"\nmedian of {repeat} requests after a warm-up; ratio = portal / default admin (lower is faster)")
    compare_with_a_plain_table(tenant_id=contoso, pool_id=busy_pool, repeat=repeat)


PLAIN_TABLE = "bench_plain_usagerecord"


def compare_with_a_plain_table(*, tenant_id: int, pool_id: int, repeat: int) -> None:
    """The usage browser's SQL on the day-partitioned table against the same rows in a plain table
    with the same indexes (made in this run, kept for the next): PostgreSQL's planning and execution
    time per query, the backend's CPU per query (from /proc, when the server is local), and the plan's
    shape, as ratios partitioned / plain. Pages over all days cost the planner one index scan per day."""
    from django.db import connection

    week_from, week_to = _days_ago(13), _days_ago(7)
    newest = "ORDER BY timestamp DESC, id DESC LIMIT 101"
    queries = [
        ("newest first", f"SELECT * FROM {{table}} {newest}", []),
        ("oldest first", "SELECT * FROM {table} ORDER BY timestamp, id LIMIT 101", []),
        ("busy pool", f"SELECT * FROM {{table}} WHERE pool_id = %s {newest}", [pool_id]),
        (
            "tenant + a week",
            f"SELECT * FROM {{table}} WHERE tenant_id = %s AND day BETWEEN %s AND %s "
            f"AND timestamp >= %s AND timestamp < (%s::date + 1) {newest}",
            [tenant_id, week_from, week_to, week_from, week_to],
        ),
    ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [PLAIN_TABLE])
        if cursor.fetchone()[0] is None:
            sys.stderr.write(f"Copying the usage records into {PLAIN_TABLE} (a plain table, same indexes)...\n")
            cursor.execute(f"CREATE TABLE {PLAIN_TABLE} AS SELECT * FROM telemetry_usagerecord")
            cursor.execute(f"ALTER TABLE {PLAIN_TABLE} ADD PRIMARY KEY (id)")
            for columns in ("timestamp", "tenant_id, timestamp", "pool_id, timestamp", "client, timestamp"):
                cursor.execute(f"CREATE INDEX ON {PLAIN_TABLE} ({columns}, id)")
            cursor.execute(f"ANALYZE {PLAIN_TABLE}")
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()
        print(f"\nusage browser SQL, {repeat * 20} runs each: partitioned by day / plain table")
        print(f"{'query':<18} {'plan ms':>16} {'execute ms':>16} {'backend CPU ms':>18} {'ratio':>6}  plan")
        for label, sql, params in queries:
            figures = {}
            for table in ("telemetry_usagerecord", PLAIN_TABLE):
                plans, executions = [], []
                runs = repeat * 20
                before = _cpu_ms(backend)
                for _ in range(runs):
                    cursor.execute(f"EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) {sql.format(table=table)}", params)
                    plan = [line for (line,) in cursor.fetchall()]
                    plans.append(float(plan[-2].split(":")[1].split()[0]))
                    executions.append(float(plan[-1].split(":")[1].split()[0]))
                after = _cpu_ms(backend)
                scans = sum("Index Scan" in line or "Index Only Scan" in line for line in plan)
                figures[table] = (
                    statistics.median(plans),
                    statistics.median(executions),
                    (after - before) / runs if before is not None and after is not None else float("nan"),
                    f"{plan[1 if plan[0].startswith('Limit') else 0].strip().split('  (')[0]}, {scans} index scans",
                )
            (p_plan, p_exec, p_cpu, p_shape), (f_plan, f_exec, f_cpu, f_shape) = figures.values()
            total_ratio = (p_plan + p_exec) / max(f_plan + f_exec, 0.001)
            print(
                f"{label:<18} {p_plan:>7.2f} / {f_plan:<6.2f} {p_exec:>7.2f} / {f_exec:<6.2f} "
                f"{p_cpu:>8.2f} / {f_cpu:<7.2f} {total_ratio:>6.2f}  {p_shape} / {f_shape}"
            )
    print("medians of PostgreSQL's planning and execution times; backend CPU: the mean over the runs;")
    print("ratio: (planning + execution) partitioned / plain")


def _cpu_ms(pid: int) -> float | None:
    """A PostgreSQL backend's user + system CPU so far, in milliseconds (Linux, local server only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _days_ago(days: int) -> str:
    return str(datetime.now(tz=UTC).date() - timedelta(days=days))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows in the record tables, in all")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page (median reported)")
    parser.add_argument(
        "--refill", action="store_true", help="recreate and refill the database even if it holds --rows rows"
    )
    arguments = parser.parse_args()
    database_url = os.environ.get("BROWSE_BENCH_DATABASE_URL", DEFAULT_URL)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The benchmark runs on PostgreSQL: set BROWSE_BENCH_DATABASE_URL=postgres://...")
    ensure_database(database_url, recreate=arguments.refill)
    configure(database_url)

    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    existing = record_count()
    if arguments.refill or existing != arguments.rows:
        start = time.perf_counter()
        fill(arguments.rows)
        print(f"Filled {record_count():,} records in {time.perf_counter() - start:.0f} s")
    else:
        print(f"Reusing the {existing:,} records already in the database")
    run(arguments.repeat)


if __name__ == "__main__":
    main()

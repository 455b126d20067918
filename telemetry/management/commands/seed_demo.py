"""seed_demo: fill an empty database with a realistic demo, through the code paths real clients use.

Tenants, sites, pools and policies are made with tenants.services (actor command:seed_demo); end users
opt in through end_user_set_error_reporting as their clients would; ~5 weeks of telemetry go through
telemetry.services.ingest_batch, the ingestion code itself. In the middle, contoso turns usage data
collection off for some days and on again, so the dashboard shows policy at work.

The demo's changes happen on simulated days, so it passes each service the simulated time (`at`),
which the service writes as its audit entry's created_at; nothing here writes to the audit log.
"""

import random
import secrets
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Max

from telemetry.maintenance import census_move_staged
from telemetry.models import CensusRecord, ErrorReport, IngestionCount, UsageRecord
from telemetry.services import ingest_batch
from tenants import services
from tenants.models import AuditLogEntry, PortalRole, Tenant
from tenants.selectors import end_user_find

ACTOR = services.Actor.for_command("seed_demo")
NOT_EMPTY = "The database is not empty: seed_demo fills only an empty database (run it after a fresh migrate)."
BATCH_SIZE = 500
ADMIN_USERNAME = "contoso-admin"
SUPPORT_USERNAME = "support"

FIRST_NAMES = ["amos", "anne", "bruno", "chen", "dana", "elif", "femi", "gita", "hugo", "ines", "jon", "kofi"]
LAST_NAMES = ["marble", "barton", "silva", "li", "novak", "yilmaz", "adeyemi", "rao", "meyer", "costa"]
ERROR_CODES = [
    ("SIGNIN_TIMEOUT", 30),
    ("MEDIA_CONNECTIVITY_FAILURE", 20),
    ("CALL_DROPPED", 15),
    ("IM_DELIVERY_FAILED", 12),
    ("PRESENCE_UPDATE_FAILED", 8),
    ("CERTIFICATE_INVALID", 4),
    ("MEETING_JOIN_FAILED", 10),
]
PARTNERS = ["microsoft.com", "northwindtraders.com", "adatum.com", "litwareinc.com", "wingtiptoys.com"]
DEVICES = [
    ("desktop", "Lync.exe", "Surface Laptop", "Windows", "10.0.19045"),
    ("desktop", "Lync.exe", "ThinkPad T14", "Windows", "10.0.22631"),
    ("desktop", "Skype for Business", "MacBook Pro", "macOS", "14.2"),
    ("mobile", "iPhoneSkype", "iPhone", "iPhoneiOS", "17.1"),
    ("mobile", "AndroidSkype", "Pixel 7", "Android", "14"),
    ("web", "SkypeWeb", "Browser", "Windows", "10.0.22631"),
]
LANGUAGES = ["EN-US", "EN-GB", "DE-DE", "FR-FR", "ES-ES", "JA-JP"]


@dataclass(frozen=True)
class TenantPlan:
    slug: str
    name: str
    domain: str
    size: float  # relative traffic
    sites: dict[str, list[str]]  # site name (or "" for none) -> pool FQDNs
    meeting_ux: dict[str, bool]  # identity -> MeetingUxEnableTelemetry
    watson_enabled: bool = True


PLANS = [
    TenantPlan(
        slug="contoso",
        name="Contoso",
        domain="contoso.com",
        size=1.0,
        sites={"Redmond": ["pool01.contoso.com", "pool02.contoso.com"], "Dublin": ["pool01.dublin.contoso.com"]},
        meeting_ux={"Site:Dublin": True},
    ),
    TenantPlan(
        slug="fabrikam",
        name="Fabrikam",
        domain="fabrikam.com",
        size=0.6,
        sites={"Munich": ["pool01.fabrikam.com"], "": ["edge.fabrikam.com"]},
        meeting_ux={"Global": True, "Service:WebServer:edge.fabrikam.com": False},
        watson_enabled=False,
    ),
    TenantPlan(
        slug="tailspin",
        name="Tailspin Toys",
        domain="tailspintoys.com",
        size=0.3,
        sites={"": ["pool01.tailspintoys.com"]},
        meeting_ux={},
    ),
]


@dataclass
class DemoUser:
    user_id: str
    sip_uri: str
    census_id: str  # the ID as the client hashes it for census
    device_id: str
    device: tuple


@dataclass
class DemoTenant:
    tenant: Tenant
    plan: TenantPlan
    pools: list[str]
    users: list[DemoUser]
    sent: list[dict] = field(default_factory=list)  # a few sent records, re-sent later as duplicates


class Progress:
    """A small progress bar: redrawn in place on a terminal, a line per quarter otherwise."""

    def __init__(self, stream, total: int, label: str):
        self.stream, self.total, self.label = stream, max(total, 1), label
        self.interactive = hasattr(stream, "isatty") and stream.isatty()
        self.last_quarter = -1

    def update(self, done: int) -> None:
        fraction = done / self.total
        if self.interactive:
            filled = int(fraction * 30)
            self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {done}/{self.total}")
            if done >= self.total:
                self.stream.write("\n")
            self.stream.flush()
        elif int(fraction * 4) > self.last_quarter:
            self.last_quarter = int(fraction * 4)
            self.stream.write(f"{self.label}: {done}/{self.total}\n")


@contextmanager
def audit_dated(when: datetime):
    """The audit entries written inside the block are dated `when`: the demo's changes happened on the
    days it simulates, not at the moment it runs. Demo only; real changes are dated as they happen."""
    last = AuditLogEntry.objects.all_tenants().aggregate(last=Max("id"))["last"] or 0
    yield
    AuditLogEntry.objects.all_tenants().filter(id__gt=last).update(created_at=when)


class Command(BaseCommand):
    help = "Fills an empty database with a realistic demo: tenants, policies, users and ~5 weeks of telemetry."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=35, help="Days of telemetry, ending today (default 35).")
        parser.add_argument("--seed", type=int, default=20261120, help="Random seed, for a repeatable demo.")
        parser.add_argument(
            "--password", default="", help="Password of the demo sign-ins (default: generated and printed once)."
        )
        parser.add_argument(
            "--url",
            default="http://127.0.0.1:8000",
            help="Where the portal will be served, for the closing lines (default http://127.0.0.1:8000).",
        )

    def handle(self, *args, days: int, seed: int, password: str, url: str, **options):
        if days < 1 or days > 366:
            raise CommandError("--days must be between 1 and 366.")
        if self._database_has_data():
            raise CommandError(NOT_EMPTY)
        rng = random.Random(seed)
        today = datetime.now(tz=UTC).date()
        first_day = today - timedelta(days=days - 1)
        setup_time = datetime.combine(first_day - timedelta(days=1), time(8, 0), tzinfo=UTC)

        # The set-up happens the day before the simulated period.
        with audit_dated(setup_time):
            demo_tenants = [self._create_tenant(plan, rng) for plan in PLANS]

        off_day, on_day = self._policy_change_days(first_day, days)
        progress = Progress(self.stdout, days, "Sending telemetry")
        totals = {"accepted": 0, "dropped": 0, "rejected": 0, "duplicates": 0}
        for offset in range(days):
            day = first_day + timedelta(days=offset)
            for demo in demo_tenants:
                morning, afternoon = self._day_of_records(demo, day, rng)
                self._send(demo, morning, totals)
                if demo.plan.slug == "contoso" and day in (off_day, on_day):
                    self._set_usage_collection(demo.tenant, enabled=day == on_day, when=_at(day, 12, 0))
                self._send(demo, afternoon, totals)
            progress.update(offset + 1)
        # What the periodic maintenance does (maintain_telemetry): census rows leave their staging table.
        census_move_staged()

        admin_password = password or secrets.token_urlsafe(12)
        support_password = password or secrets.token_urlsafe(12)
        contoso = demo_tenants[0].tenant
        with audit_dated(setup_time):
            services.portal_user_create(
                username=ADMIN_USERNAME,
                password=admin_password,
                role=PortalRole.Role.TENANT_ADMIN,
                tenant=contoso,
                actor=ACTOR,
            )
            services.portal_user_create(
                username=SUPPORT_USERNAME,
                password=support_password,
                role=PortalRole.Role.SUPPORT,
                tenant=None,
                actor=ACTOR,
            )

        self.stdout.write(
            f"Telemetry of {days} days for {len(demo_tenants)} tenants: {totals['accepted']} accepted, "
            f"{totals['dropped']} dropped by policy, {totals['rejected']} rejected, {totals['duplicates']} duplicates."
        )
        if off_day is not None:
            self.stdout.write(
                f"Contoso turned usage data collection off on {off_day} and on again on {on_day} (see the dashboard)."
            )
        self.stdout.write(
            f"\nSign in at {url.rstrip('/')}/admin/ (dashboard: {url.rstrip('/')}/portal/dashboard/)\n"
            f"  tenant admin of contoso: {ADMIN_USERNAME} / {admin_password}\n"
            f"  support staff:           {SUPPORT_USERNAME} / {support_password}\n"
            + ("" if password else "These passwords are shown only once.\n")
            + f"A contoso user to look up, or erase, by their user ID: {self._known_user(demo_tenants[0])}\n"
        )

    @staticmethod
    def _known_user(demo: DemoTenant) -> str:
        """A user ID the end-user directory knows (one whose client set the opt-in)."""
        return next(user.user_id for user in demo.users if end_user_find(tenant=demo.tenant, user_id=user.user_id))

    @staticmethod
    def _database_has_data() -> bool:
        return (
            Tenant.objects.all_tenants().exists()
            or get_user_model().objects.exists()
            or CensusRecord.objects.exists()
            or UsageRecord.objects.all_tenants().exists()
            or ErrorReport.objects.all_tenants().exists()
            or IngestionCount.objects.all_tenants().exists()
        )

    @staticmethod
    def _policy_change_days(first_day: date, days: int) -> tuple[date | None, date | None]:
        """Off for about a week in the middle of the period; no change in a period too short for it."""
        if days < 3:
            return None, None
        off_offset = days // 2 - min(3, days // 4)
        on_offset = min(off_offset + max(1, min(6, days // 5)), days - 1)
        return first_day + timedelta(days=off_offset), first_day + timedelta(days=on_offset)

    def _create_tenant(self, plan: TenantPlan, rng: random.Random) -> DemoTenant:
        tenant = services.tenant_create(slug=plan.slug, name=plan.name, domain=plan.domain, actor=ACTOR)
        pools = []
        for site_name, fqdns in plan.sites.items():
            site = services.site_create(tenant=tenant, name=site_name, actor=ACTOR) if site_name else None
            for fqdn in fqdns:
                services.pool_create(tenant=tenant, fqdn=fqdn, site=site, actor=ACTOR)
                pools.append(fqdn)
        for identity, enabled in plan.meeting_ux.items():
            scope = services.scope_parse(tenant=tenant, identity=identity)
            services.web_service_configuration_set(
                tenant=tenant, scope=scope, meeting_ux_enable_telemetry=enabled, actor=ACTOR
            )
        if not plan.watson_enabled:
            services.tenant_setting_set(tenant=tenant, setting=services.WATSON, value=False, actor=ACTOR)
        services.ingestion_key_create(tenant=tenant, actor=ACTOR, label="demo clients")

        users = []
        for index in range(max(6, int(40 * plan.size))):
            first, last = FIRST_NAMES[index % len(FIRST_NAMES)], LAST_NAMES[(index * 7) % len(LAST_NAMES)]
            user_id = f"{first}{last}{index}"
            users.append(
                DemoUser(
                    user_id=user_id,
                    sip_uri=f"sip:{first}.{last}{index}@{plan.domain}",
                    census_id=str(uuid.UUID(int=rng.getrandbits(128))).upper(),
                    device_id=str(uuid.UUID(int=rng.getrandbits(128))),
                    device=rng.choice(DEVICES),
                )
            )
            # Some users ticked "help improve" in their client, most did not; some never said.
            choice = rng.random()
            if choice < 0.7:
                services.end_user_set_error_reporting(tenant=tenant, user_id=user_id, opted_in=choice < 0.35)
        return DemoTenant(tenant=tenant, plan=plan, pools=pools, users=users)

    def _set_usage_collection(self, tenant: Tenant, *, enabled: bool, when: datetime) -> None:
        with audit_dated(when):
            services.tenant_setting_set(tenant=tenant, setting=services.CLIENT_POLICY, value=not enabled, actor=ACTOR)

    def _send(self, demo: DemoTenant, records: list[dict], totals: dict) -> None:
        for start in range(0, len(records), BATCH_SIZE):
            result = ingest_batch(tenant=demo.tenant, records=records[start : start + BATCH_SIZE])
            totals["accepted"] += result.accepted
            totals["dropped"] += result.dropped
            totals["rejected"] += result.rejected
            totals["duplicates"] += result.duplicates

    def _day_of_records(self, demo: DemoTenant, day: date, rng: random.Random) -> tuple[list[dict], list[dict]]:
        """The records the tenant's clients send on a day, split at noon."""
        weekday = day.weekday() < 5
        scale = demo.plan.size * (1.0 if weekday else 0.3) * rng.uniform(0.85, 1.15)
        records = []
        for _ in range(int(40 * scale) + 1):
            records.append(self._census(demo, day, rng))
        for _ in range(int(120 * scale) + 1):
            records.append(self._usage(demo, day, rng))
        for _ in range(int(18 * scale)):
            records.append(self._error(demo, day, rng))
        for _ in range(int(15 * scale)):
            records.append(self._meeting(demo, day, rng))
        # A client with a bug: a record or two a day is malformed and rejected.
        for _ in range(rng.choice([0, 1, 1, 2])):
            broken = self._usage(demo, day, rng)
            broken[rng.choice(["ims_sent", "call_minutes"])] = -1
            records.append(broken)
        # A client retrying after a time-out re-sends records the portal already has.
        if demo.sent:
            records += rng.sample(demo.sent, min(len(demo.sent), rng.randint(0, 3)))
        demo.sent = rng.sample(records, min(len(records), 5))
        records.sort(key=lambda record: record["timestamp"])
        noon = _at(day, 12, 0).isoformat().replace("+00:00", "Z")
        return [r for r in records if r["timestamp"] < noon], [r for r in records if r["timestamp"] >= noon]

    @staticmethod
    def _timestamp(day: date, rng: random.Random) -> str:
        # Working hours mostly, UTC.
        moment = _at(day, min(23, max(0, int(rng.gauss(13, 3)))), rng.randint(0, 59))
        return moment.replace(second=rng.randint(0, 59)).isoformat().replace("+00:00", "Z")

    def _base(self, category: str, client: str, day: date, rng: random.Random) -> dict:
        return {"id": str(uuid.uuid4()), "category": category, "client": client, "timestamp": self._timestamp(day, rng)}

    def _census(self, demo: DemoTenant, day: date, rng: random.Random) -> dict:
        user = rng.choice(demo.users)
        client, app_name, model, os_name, os_version = user.device
        attempts = rng.choice([1, 1, 1, 2, 3])
        return {
            **self._base("census", client, day, rng),
            "app_name": app_name,
            "device_model": model,
            "os_name": os_name,
            "os_version": os_version,
            "user_language": rng.choice(LANGUAGES) if rng.random() < 0.2 else "EN-US",
            "user_id": user.census_id,
            "device_id": user.device_id,
            "sign_in_attempts": attempts,
            "sign_in_failures": rng.randint(0, attempts - 1),
        }

    def _usage(self, demo: DemoTenant, day: date, rng: random.Random) -> dict:
        client = rng.choice(["desktop", "desktop", "desktop", "mobile", "web"])
        attempts = rng.choice([0, 0, 1, 1, 2, 3])
        record = {
            **self._base("usage", client, day, rng),
            "pool": rng.choice(demo.pools),
            "ims_sent": rng.randint(0, 40),
            "ims_received": rng.randint(0, 40),
            "meeting_join_attempts": attempts,
            "meeting_join_successes": attempts - (1 if attempts and rng.random() < 0.1 else 0),
            "call_minutes": rng.choice([0, 0, 5, 15, 30, 45, 60]),
        }
        if rng.random() < 0.3:
            partners = [partner for partner in PARTNERS + [p.domain for p in PLANS] if partner != demo.plan.domain]
            record["federation_partner"] = rng.choice(partners)
        return record

    def _error(self, demo: DemoTenant, day: date, rng: random.Random) -> dict:
        user = rng.choice(demo.users)
        codes, weights = zip(*ERROR_CODES, strict=True)
        code = rng.choices(codes, weights)[0]
        return {
            **self._base("error", user.device[0], day, rng),
            "pool": rng.choice(demo.pools),
            "user_id": user.user_id,
            "message_direction": rng.choice(["incoming", "outgoing"]),
            "conversation_state": rng.choice(["idle", "active", "connecting", "terminated"]),
            "conversation_thread_id": secrets.token_urlsafe(24),
            "error_code": code,
            "error_log": f"{code} after {rng.randint(1, 30)} s in {user.device[1]}",
            "ip_address": rng.choice(
                [
                    f"203.0.113.{rng.randint(1, 254)}",
                    f"198.51.100.{rng.randint(1, 254)}",
                    "2001:db8:85a3::8a2e:370:7334",
                ]
            ),
            "sip_uri": user.sip_uri,
            "os_name": user.device[3],
        }

    def _meeting(self, demo: DemoTenant, day: date, rng: random.Random) -> dict:
        """Telemetry of the Meetings App or the join launcher for a meeting hosted on one of the pools."""
        client = rng.choice(["meetings_app", "meetings_app", "join_launcher"])
        pool = rng.choice(demo.pools)
        if client == "meetings_app" and rng.random() < 0.2:
            # A Windows crash upload: the tenant's Watson setting decides.
            user = rng.choice(demo.users)
            return {
                **self._base("error", client, day, rng),
                "pool": pool,
                "user_id": user.user_id,
                "message_direction": "outgoing",
                "conversation_state": "active",
                "error_code": "MEETINGS_APP_CRASH",
                "os_name": "Windows",
                "crash": True,
            }
        return {
            **self._base("usage", client, day, rng),
            "pool": pool,
            "meeting_join_attempts": 1,
            "meeting_join_successes": 1 if rng.random() < 0.95 else 0,
            "call_minutes": rng.choice([15, 30, 30, 45, 60]),
        }


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)

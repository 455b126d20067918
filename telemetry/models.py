"""Stored telemetry and the counts kept beside it.

Raw record tables are large (tens of millions of rows); every screen reads the small count tables,
which ingestion maintains in the same transaction as the records (the census sums excepted: the
maintenance writes them when it moves census rows, see CensusDailySum).
"""

import datetime as dt
import uuid

from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext_lazy as _

from telemetry.partitions import ensure_day_partitions
from telemetry.pseudonymize import PSEUDONYM_LENGTH
from telemetry.records import FQDN, NAME, SHORT, THREAD_ID, USAGE_COUNTERS
from telemetry.vocabulary import Client, MessageDirection, Outcome
from tenants.models import Pool, Tenant, TenantScopedQuerySet


def usage_counters(field_class, *, name: str):
    """An abstract model with one field per usage counter (telemetry/records.py), of `field_class`."""
    fields = {counter.name: field_class(default=0, verbose_name=counter.label) for counter in USAGE_COUNTERS}
    meta = type("Meta", (), {"abstract": True})
    return type(name, (models.Model,), {"__module__": __name__, "Meta": meta, **fields})


# A usage record's counters are 32-bit (bounded at ingestion); their daily sums 64-bit.
UsageCounters = usage_counters(models.PositiveIntegerField, name="UsageCounters")
UsageCounterSums = usage_counters(models.BigIntegerField, name="UsageCounterSums")


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


# --- Day partitions (telemetry/partitions.py). On PostgreSQL the record tables and the receipts are
# partitioned by `day`, one partition per UTC day (migration 0007; their primary key is (id, day), as a
# partitioned table's unique keys must hold the partition column, and `id` stays unique on its own,
# drawn from its identity sequence or at random). Ingestion and the maintenance write through SQL and
# make the days they need first; the ORM's writes below do the same, so that these stay ordinary
# models on both databases. Each index of these tables names the page or query that needs it: a day
# partition does what the (..., day) indexes did (a day filter reads only its partitions), and every
# index is ascending (a descending B-tree on a growing key splits at its left and sits half full;
# the newest-first lists read them backwards).


class DayPartitionedQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        ensure_day_partitions({obj.day for obj in objs})
        return super().bulk_create(objs, *args, **kwargs)


class TenantRecordQuerySet(DayPartitionedQuerySet, TenantScopedQuerySet):
    pass


class DayPartitioned(models.Model):
    """A table partitioned by `day` on PostgreSQL (telemetry/partitions.py lists them by this flag)."""

    day_partitioned = True

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        ensure_day_partitions({self.day})
        super().save(*args, **kwargs)


# --- No row-by-row foreign-key checks on the tables ingestion writes. The tenant and pool foreign keys
# of the record tables, the receipts and the count tables are declared without a database constraint
# (db_constraint=False): each would be checked row by row at every batch's commit (about 2,000 checks a
# batch). Integrity is kept without them: a batch reads its tenant and its pools before it stores
# anything (and pools are never deleted), and deleting a tenant deletes these rows through Django's
# collector (on_delete=CASCADE), which needs no constraint. No single-column index either
# (db_index=False): where a query needs the tenant or pool, a composite index leads with it.


def _tenant_key(**kwargs):
    return models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False, **kwargs
    )


def _pool_key(**kwargs):
    return models.ForeignKey(
        Pool, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False, **kwargs
    )


class CensusFields(models.Model):
    """What a census row holds: nothing that identifies the organization or the user.

    The primary key is random (uuid4), not a sequence: a sequential id would give away the order of
    arrival, and with it the batch, and so the tenant, that a census row came in.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    day = models.DateField(verbose_name=_("day"))
    timestamp = models.DateTimeField(verbose_name=_("timestamp"))
    client = models.CharField(verbose_name=_("client"), max_length=16, choices=Client.choices)
    app_name = models.CharField(verbose_name=_("app name"), max_length=SHORT)
    device_model = models.CharField(verbose_name=_("device model"), max_length=NAME)
    os_name = models.CharField(verbose_name=_("OS name"), max_length=SHORT)
    os_version = models.CharField(verbose_name=_("OS version"), max_length=SHORT)
    user_language = models.CharField(verbose_name=_("user language"), max_length=SHORT)
    user_hash = models.CharField(
        verbose_name=_("user hash"),
        max_length=PSEUDONYM_LENGTH,
        help_text=_("The client's hash of the user ID, hashed again (keyed)."),
    )
    device_id = models.UUIDField(verbose_name=_("device ID"))
    sign_in_attempts = models.PositiveIntegerField(verbose_name=_("sign in attempts"), default=0)
    sign_in_failures = models.PositiveIntegerField(verbose_name=_("sign in failures"), default=0)

    class Meta:
        abstract = True


class StagedCensusRecord(CensusFields):
    """Census rows as a batch wrote them, in the batch's own transaction, waiting to be moved.

    Census unlinkability (lifecycle.md): the maintenance moves every staged row into CensusRecord in
    random order and under new ids, in a transaction of its own that takes the rows of every batch
    staged since its last run, so no census row shares a transaction id, a physical neighbourhood or
    an id with the batch, and so the tenant, it came in. No index: it is read whole and emptied.
    """

    def __str__(self) -> str:
        return f"staged census row ({self.day})"


class CensusRecord(CensusFields, DayPartitioned):
    """Always collected, identifies nobody: no tenant, no pool, no client-chosen record id."""

    objects = DayPartitionedQuerySet.as_manager()

    class Meta:
        verbose_name = _("census record")
        verbose_name_plural = _("census records")
        indexes = [
            # The census browser's search (CensusRecordAdmin.exact_search_alternatives): each
            # alternative is probed on its own by one of these, then listed in time order.
            models.Index(fields=["app_name"], name="census_app"),
            models.Index(fields=["os_name", "os_version"], name="census_os"),
            models.Index(fields=["os_version"], name="census_version"),
            models.Index(fields=["user_language"], name="census_language"),
            # The census browser, newest first by timestamp (and oldest first), alone and with a date
            # range on timestamp.
            models.Index(fields=["timestamp", "id"], name="census_time"),
            # The census browser filtered by client, in time order.
            models.Index(fields=["client", "timestamp", "id"], name="census_client_time"),
        ]

    def __str__(self) -> str:
        return f"{self.app_name} on {self.os_name} {self.os_version} ({self.day})"


class TenantRecord(DayPartitioned):
    """What every record of a tenant starts with (TENANT_RECORD_COLUMNS of telemetry/records.py)."""

    tenant = _tenant_key()
    pool = _pool_key()
    record_id = models.UUIDField(verbose_name=_("record ID"))
    day = models.DateField(verbose_name=_("day"))
    timestamp = models.DateTimeField(verbose_name=_("timestamp"))
    client = models.CharField(verbose_name=_("client"), max_length=16, choices=Client.choices)

    objects = TenantRecordQuerySet.as_manager()

    class Meta:
        abstract = True


class UsageRecord(TenantRecord, UsageCounters):
    federation_partner = models.CharField(verbose_name=_("federation partner"), max_length=FQDN, blank=True)

    class Meta:
        verbose_name = _("usage record")
        verbose_name_plural = _("usage records")
        indexes = [
            # The usage browser in time order (either direction), alone and with a date range.
            models.Index(fields=["timestamp", "id"], name="usage_time"),
            # The usage browser filtered by tenant, by pool (and its pool search) or by client, in time
            # order (a date range on timestamp is a range on the index's second column). The tenant's
            # also serves the maintenance's delete of a tenant's expired rows from a day shared with
            # tenants who keep it, and the count of what a shortened retention removes.
            models.Index(fields=["tenant", "timestamp", "id"], name="usage_tenant_time"),
            models.Index(fields=["pool", "timestamp", "id"], name="usage_pool_time"),
            models.Index(fields=["client", "timestamp", "id"], name="usage_client_time"),
        ]

    def __str__(self) -> str:
        return f"usage {self.record_id}"


class ErrorReport(TenantRecord):
    """An error report. The user ID and SIP URI are stored only as keyed hashes, the IP as its network."""

    Direction = MessageDirection

    user_hash = models.CharField(verbose_name=_("user hash"), max_length=PSEUDONYM_LENGTH)
    message_direction = models.CharField(
        verbose_name=_("message direction"), max_length=8, choices=MessageDirection.choices
    )
    conversation_state = models.CharField(verbose_name=_("conversation state"), max_length=SHORT)
    conversation_thread_id = models.CharField(
        verbose_name=_("conversation thread ID"), max_length=THREAD_ID, blank=True
    )
    error_code = models.CharField(verbose_name=_("error code"), max_length=NAME)
    error_log = models.TextField(verbose_name=_("error log"), blank=True)
    ip_network = models.CharField(
        verbose_name=_("IP network"), max_length=64, blank=True, help_text=_("/24 (IPv4) or /48 (IPv6) network.")
    )
    sip_uri_hash = models.CharField(verbose_name=_("SIP URI hash"), max_length=PSEUDONYM_LENGTH, blank=True)
    os_name = models.CharField(verbose_name=_("OS name"), max_length=SHORT, blank=True)
    crash = models.BooleanField(verbose_name=_("crash"), default=False)

    class Meta:
        verbose_name = _("error report")
        verbose_name_plural = _("error reports")
        indexes = [
            # The error-report browser in time order (either direction), alone and with a date range.
            models.Index(fields=["timestamp", "id"], name="error_time"),
            # The error-report browser filtered by tenant, by pool (and its pool search), by client or
            # by a looked-up user, in time order (a date range on timestamp is a range on the index's
            # second column). The tenant's also serves the maintenance's delete of a tenant's expired
            # rows from a shared day and the count of what a shortened retention removes; the user's,
            # an erasure and its preview (tenant and user pseudonyms).
            models.Index(fields=["tenant", "timestamp", "id"], name="error_tenant_time"),
            models.Index(fields=["pool", "timestamp", "id"], name="error_pool_time"),
            models.Index(fields=["client", "timestamp", "id"], name="error_client_time"),
            models.Index(fields=["user_hash", "timestamp", "id"], name="error_user_time"),
            # The error-code filter and the case-blind error-code search (`signin_timeout` finds
            # SIGNIN_TIMEOUT): both compare UPPER(error_code), in time order.
            models.Index(Upper("error_code"), models.F("timestamp"), models.F("id"), name="error_code_upper_time"),
            # The browser's search by an exact conversation thread ID (support staff follow a
            # conversation). A random key, but per day partition: only today's small index is written.
            models.Index(fields=["conversation_thread_id"], name="error_thread"),
        ]

    def __str__(self) -> str:
        return f"{self.error_code} ({self.day})"


class RecordReceipt(DayPartitioned):
    """The record ids a tenant has sent and were accepted or dropped: what makes ingestion idempotent.

    A record is a duplicate when its tenant already sent a record with the same id dated the same UTC
    day. The receipt is keyed by the record's own day, so it lives in that day's partition: a retry
    finds it in a small index that stays in cache, and the receipts of a day leave with the day.
    Kept apart from the record tables so that a census record carries no client-chosen id that could
    link it back to a tenant; no time of day, which would let one match a tenant's receipts to the
    census rows written in the same moment.
    """

    # The key is the idempotency rule itself, and the receipt's only index: ingestion's claim (a COPY
    # this key checks; INSERT ... ON CONFLICT on it when some keys are taken), and the maintenance's
    # delete of a tenant's receipts from a day shared with tenants who keep it. No surrogate id: it
    # cost every receipt a sequence value and a second index entry (benchmarks/hot_path.py, "COPY
    # telemetry_recordreceipt"). It holds the tenant, as Citus wants of a key (telemetry/citus.py).
    pk = models.CompositePrimaryKey("tenant_id", "day", "record_id")
    tenant = _tenant_key()
    record_id = models.UUIDField(verbose_name=_("record ID"))
    day = models.DateField(verbose_name=_("day"), help_text=_("The record's day (the UTC date of its timestamp)."))

    objects = DayPartitionedQuerySet.as_manager()

    class Meta:
        verbose_name = _("record receipt")
        verbose_name_plural = _("record receipts")

    def __str__(self) -> str:
        return str(self.record_id)


class IngestionCount(models.Model):
    """The ledger: records per tenant, day, category, client, outcome and reason."""

    tenant = _tenant_key()
    day = models.DateField(verbose_name=_("day"))
    category = models.CharField(verbose_name=_("category"), max_length=16)  # a Category value, or "unknown"
    client = models.CharField(verbose_name=_("client"), max_length=16)  # a Client value, or "unknown"
    outcome = models.CharField(verbose_name=_("outcome"), max_length=16, choices=Outcome.choices)
    reason = models.CharField(verbose_name=_("reason"), max_length=40, blank=True)
    records = models.BigIntegerField(verbose_name=_("records"), default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("ingestion count")
        verbose_name_plural = _("ingestion counts")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "category", "client", "outcome", "reason"], name="ingestion_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category}/{self.client} {self.outcome}: {self.records}"


class UsageDailySum(UsageCounterSums):
    """Stored usage summed per tenant, pool and day."""

    tenant = _tenant_key()
    pool = _pool_key()
    day = models.DateField(verbose_name=_("day"))
    records = models.BigIntegerField(verbose_name=_("records"), default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("usage daily sum")
        verbose_name_plural = _("usage daily sums")
        constraints = [models.UniqueConstraint(fields=["tenant", "pool", "day"], name="usage_daily_sum_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.pool_id}"


class DailyCount(models.Model):
    """Records of a tenant per day and one more key (the subclass's): a small table the dashboard reads."""

    tenant = _tenant_key()
    day = models.DateField(verbose_name=_("day"))
    records = models.BigIntegerField(verbose_name=_("records"), default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class FederationPartnerDailyCount(DailyCount):
    partner = models.CharField(verbose_name=_("partner"), max_length=FQDN)

    class Meta:
        verbose_name = _("federation partner daily count")
        verbose_name_plural = _("federation partner daily counts")
        constraints = [models.UniqueConstraint(fields=["tenant", "day", "partner"], name="federation_daily_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.partner}: {self.records}"


class ScrubbedDailyCount(models.Model):
    """Personal values replaced in the free text of a tenant's stored error reports, per day."""

    tenant = _tenant_key()
    day = models.DateField(verbose_name=_("day"))
    replaced = models.BigIntegerField(verbose_name=_("replaced"), default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("scrubbed daily count")
        verbose_name_plural = _("scrubbed daily counts")
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="scrubbed_daily_key")]

    def __str__(self) -> str:
        return f"{self.day}: {self.replaced} replaced"


class ErrorCodeDailyCount(DailyCount):
    error_code = models.CharField(verbose_name=_("error code"), max_length=NAME)

    class Meta:
        verbose_name = _("error code daily count")
        verbose_name_plural = _("error code daily counts")
        constraints = [models.UniqueConstraint(fields=["tenant", "day", "error_code"], name="error_code_daily_key")]
        # The error-report browser's error-code filter lists the codes of the last days, every tenant's.
        indexes = [models.Index(fields=["day"], name="error_code_daily_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.error_code}: {self.records}"


class CensusDailySum(models.Model):
    """Census records and their sign-in counters summed per day, installation-wide (census names no
    tenant, so neither does its sum).

    Filled by the maintenance when it moves staged census rows (telemetry/maintenance.py,
    census_move_staged), in the move's own transaction, never by a batch: a sum written in a batch's
    transaction would share its transaction id, and so its tenant. Kept when census records expire,
    like every count table (lifecycle.md).
    """

    day = models.DateField(verbose_name=_("day"), unique=True)
    records = models.BigIntegerField(verbose_name=_("records"), default=0)
    sign_in_attempts = models.BigIntegerField(verbose_name=_("sign in attempts"), default=0)
    sign_in_failures = models.BigIntegerField(verbose_name=_("sign in failures"), default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.records} census records"

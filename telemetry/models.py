"""Stored telemetry and the counts kept beside it.

Raw record tables are large (tens of millions of rows); every screen reads the small count tables,
which ingestion maintains in the same transaction as the records (the census sums excepted: the
maintenance writes them when it moves census rows, see CensusDailySum).
"""

import datetime as dt
import uuid

from django.db import models
from django.db.models.functions import Upper

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


class CensusFields(models.Model):
    """What a census row holds: nothing that identifies the organization or the user.

    The primary key is random (uuid4), not a sequence: a sequential id would give away the order of
    arrival, and with it the batch, and so the tenant, that a census row came in.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    day = models.DateField()
    timestamp = models.DateTimeField()
    client = models.CharField(max_length=16, choices=Client.choices)
    app_name = models.CharField(max_length=SHORT)
    device_model = models.CharField(max_length=NAME)
    os_name = models.CharField(max_length=SHORT)
    os_version = models.CharField(max_length=SHORT)
    user_language = models.CharField(max_length=SHORT)
    user_hash = models.CharField(
        max_length=PSEUDONYM_LENGTH, help_text="The client's hash of the user ID, hashed again (keyed)."
    )
    device_id = models.UUIDField()
    sign_in_attempts = models.PositiveIntegerField(default=0)
    sign_in_failures = models.PositiveIntegerField(default=0)

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


class CensusRecord(CensusFields):
    """Always collected, identifies nobody: no tenant, no pool, no client-chosen record id."""

    class Meta:
        indexes = [
            models.Index(fields=["-day", "-id"], name="census_day"),
            models.Index(fields=["app_name", "-day"], name="census_app_day"),
            models.Index(fields=["os_name", "os_version", "-day"], name="census_os_day"),
            models.Index(fields=["os_version", "-day"], name="census_version_day"),
            models.Index(fields=["user_language", "-day"], name="census_language_day"),
            # The census browser, newest first by timestamp (and oldest first, read backwards), alone
            # and with a date range on timestamp.
            models.Index(fields=["-timestamp", "-id"], name="census_time"),
            # The census browser filtered by client, in time order.
            models.Index(fields=["client", "-timestamp", "-id"], name="census_client_time"),
        ]

    def __str__(self) -> str:
        return f"{self.app_name} on {self.os_name} {self.os_version} ({self.day})"


class TenantRecord(models.Model):
    """What every record of a tenant starts with (TENANT_RECORD_COLUMNS of telemetry/records.py)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="+")
    record_id = models.UUIDField()
    day = models.DateField()
    timestamp = models.DateTimeField()
    client = models.CharField(max_length=16, choices=Client.choices)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class UsageRecord(TenantRecord, UsageCounters):
    federation_partner = models.CharField(max_length=FQDN, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-day", "-id"], name="usage_tenant_day"),
            models.Index(fields=["pool", "-day"], name="usage_pool_day"),
            models.Index(fields=["-day", "-id"], name="usage_day"),
            models.Index(fields=["record_id"], name="usage_record_id"),
            # The usage browser in time order (either direction), alone and with a date range.
            models.Index(fields=["-timestamp", "-id"], name="usage_time"),
            # The usage browser filtered by tenant, by pool or by client, in time order (a date range
            # on timestamp is a range on the index's second column).
            models.Index(fields=["tenant", "-timestamp", "-id"], name="usage_tenant_time"),
            models.Index(fields=["pool", "-timestamp", "-id"], name="usage_pool_time"),
            models.Index(fields=["client", "-timestamp", "-id"], name="usage_client_time"),
        ]

    def __str__(self) -> str:
        return f"usage {self.record_id}"


class ErrorReport(TenantRecord):
    """An error report. The user ID and SIP URI are stored only as keyed hashes, the IP as its network."""

    Direction = MessageDirection

    user_hash = models.CharField(max_length=PSEUDONYM_LENGTH)
    message_direction = models.CharField(max_length=8, choices=MessageDirection.choices)
    conversation_state = models.CharField(max_length=SHORT)
    conversation_thread_id = models.CharField(max_length=THREAD_ID, blank=True)
    error_code = models.CharField(max_length=NAME)
    error_log = models.TextField(blank=True)
    ip_network = models.CharField(max_length=64, blank=True, help_text="/24 (IPv4) or /48 (IPv6) network.")
    sip_uri_hash = models.CharField(max_length=PSEUDONYM_LENGTH, blank=True)
    os_name = models.CharField(max_length=SHORT, blank=True)
    crash = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "-day", "-id"], name="error_tenant_day"),
            models.Index(fields=["-day", "-id"], name="error_day"),
            models.Index(fields=["user_hash", "-day"], name="error_user_day"),
            models.Index(fields=["conversation_thread_id"], name="error_thread"),
            models.Index(fields=["error_code", "-day"], name="error_code_day"),
            models.Index(fields=["pool", "-day"], name="error_pool_day"),
            models.Index(fields=["record_id"], name="error_record_id"),
            # The error-report browser in time order (either direction), alone and with a date range.
            models.Index(fields=["-timestamp", "-id"], name="error_time"),
            # The error-report browser filtered by tenant, by pool, by client or by a looked-up user,
            # in time order (a date range on timestamp is a range on the index's second column).
            models.Index(fields=["tenant", "-timestamp", "-id"], name="error_tenant_time"),
            models.Index(fields=["pool", "-timestamp", "-id"], name="error_pool_time"),
            models.Index(fields=["client", "-timestamp", "-id"], name="error_client_time"),
            models.Index(fields=["user_hash", "-timestamp", "-id"], name="error_user_time"),
            # The error-code filter and the case-blind error-code search (`signin_timeout` finds
            # SIGNIN_TIMEOUT): both compare UPPER(error_code), in time order.
            models.Index(
                Upper("error_code"), models.F("timestamp").desc(), models.F("id").desc(), name="error_code_upper_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.error_code} ({self.day})"


class RecordReceipt(models.Model):
    """The record ids a tenant has sent and were accepted or dropped: what makes ingestion idempotent.

    Kept apart from the record tables so that a census record carries no client-chosen id that could
    link it back to a tenant. Only the day of arrival is kept: a time of day would let one match a
    tenant's receipts to the census rows written in the same moment.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    record_id = models.UUIDField()
    received_on = models.DateField(default=utc_today)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "record_id"], name="receipt_unique_per_tenant")]
        # The maintenance deletes a tenant's receipts by day of arrival (purge_expired), every minute:
        # without it, each run would read the whole table.
        indexes = [models.Index(fields=["tenant", "received_on"], name="receipt_tenant_received")]

    def __str__(self) -> str:
        return str(self.record_id)


class IngestionCount(models.Model):
    """The ledger: records per tenant, day, category, client, outcome and reason."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    category = models.CharField(max_length=16)  # a Category value, or "unknown"
    client = models.CharField(max_length=16)  # a Client value, or "unknown"
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=40, blank=True)
    records = models.BigIntegerField(default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "category", "client", "outcome", "reason"], name="ingestion_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.category}/{self.client} {self.outcome}: {self.records}"


class UsageDailySum(UsageCounterSums):
    """Stored usage summed per tenant, pool and day."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    records = models.BigIntegerField(default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "pool", "day"], name="usage_daily_sum_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.pool_id}"


class DailyCount(models.Model):
    """Records of a tenant per day and one more key (the subclass's): a small table the dashboard reads."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    records = models.BigIntegerField(default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        abstract = True


class FederationPartnerDailyCount(DailyCount):
    partner = models.CharField(max_length=FQDN)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "day", "partner"], name="federation_daily_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.partner}: {self.records}"


class ScrubbedDailyCount(models.Model):
    """Personal values replaced in the free text of a tenant's stored error reports, per day."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    replaced = models.BigIntegerField(default=0)

    objects = TenantScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "day"], name="scrubbed_daily_key")]

    def __str__(self) -> str:
        return f"{self.day}: {self.replaced} replaced"


class ErrorCodeDailyCount(DailyCount):
    error_code = models.CharField(max_length=NAME)

    class Meta:
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

    day = models.DateField(unique=True)
    records = models.BigIntegerField(default=0)
    sign_in_attempts = models.BigIntegerField(default=0)
    sign_in_failures = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.records} census records"

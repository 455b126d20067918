"""ingest_batch called directly, as seed_demo does: results, stored rows and the ledger."""

import datetime as dt

from telemetry.models import CensusRecord, ErrorReport, IngestionCount, RecordReceipt, UsageDailySum, UsageRecord
from telemetry.services import ingest_batch
from tenants import services
from tests.conftest import COMMAND_ACTOR
from tests.telemetry.factories import census, error, usage


def ledger(tenant):
    return {
        (row.category, row.client, row.outcome, row.reason): row.records
        for row in IngestionCount.objects.filter(tenant=tenant)
    }


def test_mixed_batch_is_decided_stored_and_counted(contoso, contoso_pool):
    services.end_user_set_error_reporting(tenant=contoso, user_id="amosmarble", opted_in=True)
    batch = [census(), usage(), error(), error(user_id="desdemona"), usage(pool="nowhere.contoso.com")]

    result = ingest_batch(tenant=contoso, records=batch)

    assert [r.status for r in result.results] == ["accepted", "accepted", "accepted", "dropped", "rejected"]
    assert result.results[3].reason == "user_not_opted_in"
    assert result.results[4].reason == "pool: is not a pool of this tenant"
    assert result.errors == [("/records/4/pool", "is not a pool of this tenant")]
    assert (CensusRecord.objects.count(), UsageRecord.objects.count(), ErrorReport.objects.count()) == (1, 1, 1)
    assert RecordReceipt.objects.filter(tenant=contoso).count() == 4
    assert ledger(contoso) == {
        ("census", "desktop", "accepted", ""): 1,
        ("usage", "desktop", "accepted", ""): 1,
        ("error", "desktop", "accepted", ""): 1,
        ("error", "desktop", "dropped", "user_not_opted_in"): 1,
        ("usage", "desktop", "rejected", "invalid"): 1,
    }
    sums = UsageDailySum.objects.get(tenant=contoso, pool=contoso_pool)
    assert (sums.day, sums.records, sums.ims_sent, sums.call_minutes) == (dt.date(2026, 11, 20), 1, 12, 30)


def test_a_policy_change_after_the_tenant_was_loaded_is_seen(contoso, contoso_pool):
    stale = contoso
    services.client_policy_set(tenant=contoso, disable_automatic_send_tracing=True, actor=COMMAND_ACTOR)

    result = ingest_batch(tenant=stale, records=[usage()])

    assert result.results[0].reason == "usage_collection_disabled"
    assert not UsageRecord.objects.exists()


def test_the_same_ids_again_are_duplicates_counted_once(contoso, contoso_pool):
    batch = [census(), usage(), error()]
    ingest_batch(tenant=contoso, records=batch)

    again = ingest_batch(tenant=contoso, records=batch)

    assert again.duplicates == 3
    assert (CensusRecord.objects.count(), UsageRecord.objects.count()) == (1, 1)
    assert ledger(contoso)[("usage", "desktop", "accepted", "")] == 1
    assert ledger(contoso)[("usage", "desktop", "duplicate", "")] == 1

"""Fixtures of the admin tests: each tenant gets a site, a pool, configurations, a key, an end user
and records, so that every admin page has something of the other tenant to leak."""

import datetime
import uuid
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model

from telemetry.models import CensusRecord, ErrorReport, UsageRecord
from telemetry.policy import Client
from telemetry.pseudonymize import hash_census_user_id, hash_sip_uri, hash_user_id
from tenants import services
from tenants.models import EndUser, IngestionKey, Pool, Site, Tenant, WebServiceConfiguration
from tests.conftest import COMMAND_ACTOR, PASSWORD

DAY = datetime.date(2025, 3, 14)


@dataclass
class World:
    """One tenant's objects, as the admin tests need them."""

    tenant: Tenant
    site: Site
    pool: Pool
    global_configuration: WebServiceConfiguration
    site_configuration: WebServiceConfiguration
    pool_configuration: WebServiceConfiguration
    key: IngestionKey
    end_user: EndUser
    error_report: ErrorReport
    usage_record: UsageRecord


def error_report_create(*, tenant, pool, user_id="amos.marble", error_code="E-100", thread="thread-1", day=DAY):
    return ErrorReport.objects.create(
        tenant=tenant,
        pool=pool,
        record_id=uuid.uuid4(),
        day=day,
        timestamp=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC),
        client=Client.DESKTOP,
        user_hash=hash_user_id(user_id, tenant_id=tenant.pk),
        message_direction=ErrorReport.Direction.OUTGOING,
        conversation_state="connected",
        conversation_thread_id=thread,
        error_code=error_code,
        error_log="timeout",
        ip_network="203.0.113.0/24",
        sip_uri_hash=hash_sip_uri(f"sip:{user_id}@example.com", tenant_id=tenant.pk),
    )


def usage_record_create(*, tenant, pool, partner="", day=DAY):
    return UsageRecord.objects.create(
        tenant=tenant,
        pool=pool,
        record_id=uuid.uuid4(),
        day=day,
        timestamp=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC),
        client=Client.WEB,
        ims_sent=3,
        federation_partner=partner,
    )


def census_record_create(*, app_name="Communicator", os_name="Windows", os_version="10.0", language="en-US", day=DAY):
    return CensusRecord.objects.create(
        day=day,
        timestamp=datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC),
        client=Client.DESKTOP,
        app_name=app_name,
        device_model="Surface",
        os_name=os_name,
        os_version=os_version,
        user_language=language,
        user_hash=hash_census_user_id("client-hash-of-someone"),
        device_id=uuid.uuid4(),
    )


def world_create(*, tenant: Tenant, site_name: str, pool_fqdn: str, user_id: str, partner: str) -> World:
    site = services.site_create(tenant=tenant, name=site_name, actor=COMMAND_ACTOR)
    pool = services.pool_create(tenant=tenant, fqdn=pool_fqdn, site=site, actor=COMMAND_ACTOR)
    site_configuration = services.web_service_configuration_set(
        tenant=tenant,
        scope=services.scope_parse(tenant=tenant, identity=f"Site:{site_name}"),
        meeting_ux_enable_telemetry=True,
        actor=COMMAND_ACTOR,
    )
    pool_configuration = services.web_service_configuration_set(
        tenant=tenant,
        scope=services.scope_parse(tenant=tenant, identity=f"Service:WebServer:{pool_fqdn}"),
        meeting_ux_enable_telemetry=True,
        actor=COMMAND_ACTOR,
    )
    key = services.ingestion_key_create(tenant=tenant, label=f"{tenant.slug} gateway", actor=COMMAND_ACTOR).key
    end_user = services.end_user_set_error_reporting(tenant=tenant, user_id=user_id, opted_in=True)
    return World(
        tenant=tenant,
        site=site,
        pool=pool,
        global_configuration=WebServiceConfiguration.objects.get(tenant=tenant, scope="global"),
        site_configuration=site_configuration,
        pool_configuration=pool_configuration,
        key=key,
        end_user=end_user,
        error_report=error_report_create(
            tenant=tenant, pool=pool, user_id=user_id, error_code=f"{tenant.slug}-E1", thread=f"{tenant.slug}-thread"
        ),
        usage_record=usage_record_create(tenant=tenant, pool=pool, partner=f"partner-of-{tenant.slug}.example"),
    )


@pytest.fixture
def contoso_world(contoso):
    return world_create(
        tenant=contoso, site_name="Redmond", pool_fqdn="pool01.contoso.com", user_id="amos@contoso.com", partner=""
    )


@pytest.fixture
def fabrikam_world(fabrikam):
    return world_create(
        tenant=fabrikam, site_name="Lisbon", pool_fqdn="pool07.fabrikam.com", user_id="ines@fabrikam.com", partner=""
    )


@pytest.fixture
def census_record(db):
    return census_record_create()


@pytest.fixture
def prospero(db):
    """A superuser: runs the installation."""
    return get_user_model().objects.create_superuser(username="prospero", password=PASSWORD)


def fabrikam_markers(world: World) -> list[str]:
    """Strings that only fabrikam's data contains: none may reach a contoso admin's page."""
    return ["fabrikam", "Fabrikam", world.site.name, world.pool.fqdn, world.key.prefix, world.end_user.user_hash[:8]]

"""Fixtures shared by the whole suite. Tests name their tenants like people: contoso and fabrikam."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tenants import services
from tenants.models import PortalRole

COMMAND_ACTOR = services.Actor.for_command("tests")
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def contoso(db):
    return services.tenant_create(slug="contoso", name="Contoso", domain="contoso.com", actor=COMMAND_ACTOR)


@pytest.fixture
def fabrikam(db):
    return services.tenant_create(slug="fabrikam", name="Fabrikam", domain="fabrikam.com", actor=COMMAND_ACTOR)


@pytest.fixture
def contoso_site(contoso):
    return services.site_create(tenant=contoso, name="Redmond", actor=COMMAND_ACTOR)


@pytest.fixture
def contoso_pool(contoso, contoso_site):
    return services.pool_create(tenant=contoso, fqdn="pool01.contoso.com", site=contoso_site, actor=COMMAND_ACTOR)


@pytest.fixture
def fabrikam_pool(fabrikam):
    return services.pool_create(tenant=fabrikam, fqdn="pool01.fabrikam.com", actor=COMMAND_ACTOR)


@pytest.fixture
def contoso_key(contoso):
    return services.ingestion_key_create(tenant=contoso, actor=COMMAND_ACTOR).secret


@pytest.fixture
def fabrikam_key(fabrikam):
    return services.ingestion_key_create(tenant=fabrikam, actor=COMMAND_ACTOR).secret


@pytest.fixture
def hamlet(contoso):
    """Tenant admin of contoso."""
    return services.portal_user_create(
        username="hamlet", password=PASSWORD, role=PortalRole.Role.TENANT_ADMIN, tenant=contoso, actor=COMMAND_ACTOR
    )


@pytest.fixture
def othello(fabrikam):
    """Tenant admin of fabrikam."""
    return services.portal_user_create(
        username="othello", password=PASSWORD, role=PortalRole.Role.TENANT_ADMIN, tenant=fabrikam, actor=COMMAND_ACTOR
    )


@pytest.fixture
def iago(db):
    """Support staff: every tenant, read-only."""
    return services.portal_user_create(
        username="iago", password=PASSWORD, role=PortalRole.Role.SUPPORT, tenant=None, actor=COMMAND_ACTOR
    )


def pytest_collection_modifyitems(config, items):
    """`@pytest.mark.postgres` tests need PostgreSQL. On SQLite (a local run) they are skipped with a
    reason; where TELEMETRY_REQUIRE_POSTGRES is set (CI) the run fails instead of skipping them."""
    from django.db import connection  # Django is set up only once collection runs

    if connection.vendor == "postgresql":
        return
    needing = [item for item in items if item.get_closest_marker("postgres")]
    if not needing:
        return
    if os.environ.get("TELEMETRY_REQUIRE_POSTGRES"):
        raise pytest.UsageError(
            f"TELEMETRY_REQUIRE_POSTGRES is set but the database is {connection.vendor}: set DATABASE_URL."
        )
    skip = pytest.mark.skip(reason="needs PostgreSQL: run with DATABASE_URL=postgres://...")
    for item in needing:
        item.add_marker(skip)


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    """Runs manage.py in a child process against a throw-away SQLite file, as an administrator would."""
    database = tmp_path_factory.mktemp("shell") / "portal.sqlite3"
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "shell-test-secret-key",
        "TELEMETRY_HASH_KEY": "shell-test-hash-key",
        "DJANGO_SECURE_SSL": "false",
    }
    environment.pop("PORTAL_PASSWORD", None)
    manage = Path(settings.BASE_DIR) / "manage.py"

    def manage_py(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(manage), *args],
            check=False,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    migrated = manage_py("migrate", "--noinput", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    return manage_py

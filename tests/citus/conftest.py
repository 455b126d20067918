"""The Citus tests run against a coordinator that `scripts/citus-rehearsal` made, migrated and
distributed. Elsewhere (SQLite, plain PostgreSQL) they are skipped with a reason, unless
TELEMETRY_REQUIRE_CITUS=1 (the rehearsal sets it), which turns the skip into a failure."""

import os

import pytest
from django.db import connection

from telemetry.citus import has_citus


@pytest.fixture(autouse=True)
def _citus_coordinator(db):
    if has_citus():
        return
    if os.environ.get("TELEMETRY_REQUIRE_CITUS") == "1":
        pytest.fail(f"TELEMETRY_REQUIRE_CITUS=1 but the {connection.vendor} database has no citus extension.")
    pytest.skip("needs a Citus coordinator: run scripts/citus-rehearsal")

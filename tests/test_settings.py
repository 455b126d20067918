"""Configuration as operations.md promises it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _run_check(**overrides):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEMETRY_"))}
    environment.update(overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("environment", "missing"),
    [
        ({}, "DJANGO_SECRET_KEY"),
        ({"DJANGO_SECRET_KEY": "a-production-secret"}, "TELEMETRY_HASH_KEY"),
    ],
)
def test_a_missing_production_secret_stops_the_start_with_one_line_naming_it(environment, missing):
    result = _run_check(**environment)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert missing in lines[0]
    assert "Traceback" not in result.stderr


def test_the_hash_key_may_not_be_the_signing_key():
    result = _run_check(DJANGO_SECRET_KEY="same-secret", TELEMETRY_HASH_KEY="same-secret")
    assert result.returncode != 0
    assert "TELEMETRY_HASH_KEY must differ" in result.stderr


def test_debug_is_off_unless_asked_for():
    assert settings.DEBUG is False


def test_database_follows_database_url():
    url = os.environ.get("DATABASE_URL", "")
    expected = "postgresql" if url.startswith(("postgres://", "postgresql://")) else "sqlite"
    assert connection.vendor == expected

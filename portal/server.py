"""What gunicorn.conf.py plugs into gunicorn: a worker that reads each request whole before the portal
runs it, and an error log that names no one.

The worker. gunicorn's sync worker hands the socket to the application as soon as the headers are in:
Django then reads the body itself, so a client that sends its headers and a few bytes and goes silent
holds a whole worker process until the worker timeout, and a handful of such clients hold them all.
`BufferingWorker` is gunicorn's asyncio worker in front of the same WSGI application: the event loop
reads every connection's headers and body (up to `max_body` bytes), at no cost but a coroutine and the
bytes received, and only a complete request reaches the application thread, which then runs it as
the sync worker did: one request at a time, per process, on one thread that keeps its database
connection (persistent connections stay what they are), the answer handed back to the loop to send.

The error log. gunicorn writes the client's address and the offending piece of a malformed request
line ("Invalid request from ip=...: Invalid HTTP Version: '...'"), and a failing request's method
and URI. `RedactingLogger` rewrites gunicorn's error and access log records before any handler
formats them: IP addresses become their /24 or /48 network, quoted client text and query strings are
left out, and user IDs in client API paths are replaced (portal/logging.py).
"""

import asyncio
import inspect
import io
import logging
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote_to_bytes, urlsplit

from gunicorn import SERVER_SOFTWARE
from gunicorn.glogging import Logger
from gunicorn.workers.gasgi import ASGIWorker

from portal.logging import redact_user_ids
from telemetry.pseudonymize import truncate_ip
from telemetry.schemas import MAX_BODY_BYTES

# --- The worker ------------------------------------------------------------------------------------

NO_BODY_STATUSES = frozenset({204, 304})
# A request that has run this long (seconds) is stalled: the worker's heartbeat stops (see notify).
STALLED_AFTER = 1.0


class _UnreadBody(io.RawIOBase):
    """The body of a request whose declared length is over what the server buffers: never read.

    The application refuses such a request by its Content-Length before reading (the client API's
    413, Django's RequestDataTooBig); anything that reads it anyway fails as on a broken connection
    instead of reading a body cut short."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise OSError("The request body was not read: it is larger than the server buffers.")


class RequestBuffer:
    """An ASGI application that buffers each request, then runs a WSGI application on its own thread."""

    def __init__(self, wsgi_application, *, max_body: int, threads: int = 1):
        self.wsgi_application = wsgi_application
        self.max_body = max_body
        self.threads = threads
        self.executor: ThreadPoolExecutor | None = None
        # When each request running in the application threads began (time.monotonic()).
        self.running_since: dict[int, float] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # No websockets here: returning without accepting one closes it.

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="wsgi")
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.executor is not None:
                    self.executor.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _read_body(self, receive, declared: int) -> bytes | None:
        """The whole body, or None if the client went away before sending it."""
        body = bytearray()
        while len(body) < declared:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        return bytes(body)

    async def _http(self, scope, receive, send) -> None:
        declared = _content_length(scope)
        if declared is None or declared > self.max_body:
            # A chunked body Django never reads (it reads Content-Length bytes, as under the sync
            # worker), or one too large to be accepted: the application answers without it.
            body = _UnreadBody() if declared else io.BytesIO()
        else:
            received = await self._read_body(receive, declared)
            if received is None:
                return
            body = io.BytesIO(received)
        environ = _environ(scope, body)
        if self.executor is None:
            self.executor = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="wsgi")
        status, headers, content = await asyncio.get_running_loop().run_in_executor(self.executor, self._run, environ)
        if scope["method"] == "HEAD" or status in NO_BODY_STATUSES:
            content = b""  # the headers say what GET would answer; the body is not sent (RFC 9110)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    def _run(self, environ: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The application's whole answer: status, headers and body (in an application thread)."""
        started: list = []
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            # Nothing is sent before the application returns: a second call (with exc_info) replaces.
            started[:] = [status, headers]
            return chunks.append

        self.running_since[id(environ)] = time.monotonic()
        try:
            result = self.wsgi_application(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                if hasattr(result, "close"):
                    result.close()  # Django sends request_finished here: connections are tidied.
        except Exception:
            # Django answers its own errors; this is the server's. No path: it may hold a user ID.
            logging.getLogger("gunicorn.error").exception("The application failed; answered 500.")
            return 500, [(b"content-type", b"text/plain; charset=utf-8")], b"Internal Server Error"
        finally:
            del self.running_since[id(environ)]
        status_line, response_headers = started
        status = int(status_line.split(" ", 1)[0])
        content = b"".join(chunks)
        # Spelled as the application spells them, as the sync worker sends them.
        headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in response_headers]
        if (
            status >= 200
            and status not in NO_BODY_STATUSES
            and not any(name.lower() == b"content-length" for name, _ in headers)
        ):
            headers.append((b"content-length", str(len(content)).encode()))
        return status, headers, content

    def oldest_running(self) -> float | None:
        """When the longest-running request began (time.monotonic()), or None if none runs."""
        return min(self.running_since.values(), default=None)


def _content_length(scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _environ(scope, body) -> dict:
    """The WSGI environ gunicorn's sync worker builds for the same request (gunicorn/http/wsgi.py)."""
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
    if not raw_path.startswith(b"/") and b"://" in raw_path:
        # The absolute form of the request target (RFC 9112, 3.2.2): the path follows the authority.
        raw_path = urlsplit(raw_path).path or b"/"
    script_name = scope.get("root_path", "")
    path_info = unquote_to_bytes(raw_path).decode("latin-1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "RAW_URI": raw_path.decode("latin-1")
        + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"] else ""),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "SERVER_SOFTWARE": SERVER_SOFTWARE,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    server, client = scope.get("server"), scope.get("client")
    if server:
        environ["SERVER_NAME"], environ["SERVER_PORT"] = server[0], str(server[1])
    if client:
        environ["REMOTE_ADDR"], environ["REMOTE_PORT"] = client[0], str(client[1])
    repeated: dict[str, list[str]] = {}
    for raw_name, raw_value in scope["headers"]:
        name, value = raw_name.decode("latin-1").upper(), raw_value.decode("latin-1")
        key = {"CONTENT-TYPE": "CONTENT_TYPE", "CONTENT-LENGTH": "CONTENT_LENGTH"}.get(name)
        key = key or "HTTP_" + name.replace("-", "_")
        repeated.setdefault(key, []).append(value)
    environ.update((key, ",".join(values)) for key, values in repeated.items())
    return environ


class BufferingWorker(ASGIWorker):
    """gunicorn's asyncio worker serving the WSGI application named on the command line through
    `RequestBuffer` (an ASGI application is served as it is).

    The largest body it buffers is the client API's MAX_BODY_BYTES (the portal's own forms are far
    smaller): a longer declared Content-Length is refused by the application on its own (413), unread,
    so no more than that is ever read of a body, as the README promises clients. The heartbeat stops
    while a request is stalled, so the arbiter restarts the worker when one runs longer than the worker
    timeout, as it restarts a sync worker stuck on one."""

    @classmethod
    def check_config(cls, cfg, log):
        """Nothing to warn about: `threads` is the number of application threads here."""

    def load_wsgi(self):
        super().load_wsgi()
        application = self.asgi
        if not (inspect.iscoroutinefunction(application) or inspect.iscoroutinefunction(application.__call__)):
            self.asgi = RequestBuffer(application, max_body=MAX_BODY_BYTES, threads=self.cfg.threads)

    def notify(self):
        application = getattr(self, "asgi", None)
        since = application.oldest_running() if isinstance(application, RequestBuffer) else None
        if since is None or time.monotonic() - since < STALLED_AFTER:
            super().notify()


# --- The error log ---------------------------------------------------------------------------------

_IPV4 = r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)"
_IPV6 = r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?::(?:\d{1,3}\.){3}\d{1,3})?(?![\w.])"
_ADDRESS = re.compile(f"{_IPV6}|{_IPV4}")
_QUOTED = re.compile(r"b?'(?:[^'\\]|\\.)*'" + r'|b?"(?:[^"\\]|\\.)*"')
_QUERY = re.compile(r"(/\S*?)\?\S*")
# gunicorn's line for a request it could not parse: "Invalid request from ip=<ip>: <what>: <the text>".
_INVALID_REQUEST = re.compile(r"^(Invalid request from ip=\S+: [^:]*)(:.*)?$", re.DOTALL)
REDACTED = "<redacted>"


def _network(match: re.Match) -> str:
    text = match.group(0)
    # "ip=2001:db8::7: Invalid ..." ends the address with the sentence's colon.
    for address in (text, text[:-1]) if text.endswith(":") else (text,):
        try:
            return truncate_ip(address) + text[len(address) :]
        except ValueError:
            continue
    return text  # "12:30:05" and the like: not an address


def _redact_identities(text: str) -> str:
    """`text` with IP addresses as their networks, without query strings, without user IDs."""
    text = _ADDRESS.sub(_network, text)
    text = _QUERY.sub(r"\1?" + REDACTED, text)
    return redact_user_ids(text)


def redact_client(message: str) -> str:
    """A message of gunicorn's log without what identifies a client or repeats what it sent."""
    invalid = _INVALID_REQUEST.match(message)
    if invalid:
        # What gunicorn could not parse is the client's text: say what was wrong, not what was sent.
        message = invalid.group(1)
    # gunicorn quotes what it repeats of a request ('%r' of a header, a method, a chunk size).
    return _redact_identities(_QUOTED.sub(REDACTED, message))


class RedactClients(logging.Filter):
    """Rewrites a record's message (formatted first) with `redact_client`, and its traceback text."""

    # gunicorn's own lines that name the server's own addresses (its binds), never a client's.
    SERVER_ADDRESS_LINES = ("Listening at: ",)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(self.SERVER_ADDRESS_LINES):
            return True
        message = record.getMessage()
        redacted = redact_client(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # A traceback's quotes are mostly file names and source: only identities are taken out.
            record.exc_text = _redact_identities(record.exc_text)
        return True


class RedactingLogger(Logger):
    """gunicorn's logger, its error and access logs filtered by `RedactClients`."""

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            if not any(isinstance(existing, RedactClients) for existing in log.filters):
                log.addFilter(RedactClients())

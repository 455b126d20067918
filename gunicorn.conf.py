"""gunicorn's settings for `gunicorn portal.wsgi`, read from this file when started in the project root.

- Workers: WEB_CONCURRENCY, or 2 x CPUs + 1. Ingestion spends part of each request waiting for its
  commit, so fewer workers leave CPU idle (benchmarks/ingest.py measures it).
- Worker class: portal.server.BufferingWorker, gunicorn's asyncio worker in front of the same WSGI
  application. There is no proxy in front, and the sync worker let a client that sends its headers
  and a few bytes of body, then nothing, hold a whole worker until the worker timeout: 2 x workers
  such clients and nobody else was served for 30 s. Now the event loop reads every request whole
  (its body up to the largest the portal accepts) and only then hands it to the worker's one
  application thread, which runs it as the sync worker did: one request at a time, on a thread that
  keeps its persistent database connection. A silent client costs a coroutine, not a worker.
  Weighed with benchmarks/ingest.py (2 CPUs, 5 workers, 10 client threads, 150 batches, on a shared
  machine; records/s end to end, gunicorn CPU per 1000-record batch, PostgreSQL connections at peak):
  * sync, before: 15,900 to 16,300 records/s, 80 to 82 ms, 6 connections (the quietest three rounds);
  * this worker, alternating with those: 14,700 to 15,700 records/s (about 3% less), 82 to 87 ms,
    6 connections;
  * gthread, 8 threads: 12,800 to 12,900 records/s beside sync's 15,200 to 15,500, 24 connections;
    and a silent client still holds a thread until it goes away, while a worker whose threads are
    all held keeps accepting connections it cannot serve;
  * Django's ASGI handler (gunicorn's `asgi` worker; uvicorn-worker runs the same handler, with two
    more dependencies): 11,900 to 12,200 records/s beside sync's 11,100 to 15,800, but 43 to 47
    connections: under ASGI each request gets a new connection (Django's documentation says to turn
    persistent ones off there, and those left open wait for the garbage collector), re-creating the
    session's staging table each time; and it reads any body whole, however long, before the view
    can refuse it by its length.
- Error log: portal.server.RedactingLogger. gunicorn wrote the client's full address and the
  offending part of a malformed request line (which may be PUT /api/v1/users/<user id>/...); its
  records now show an address as its /24 or /48 network and leave out what the client sent.
- The application is loaded once in the master, so a missing secret stops gunicorn at once with
  its one line (loaded in each worker, the master would boot worker after worker); it is then frozen
  out of the garbage collector's view before the workers fork: the workers share those pages and
  their collections skip them (about 10% of a worker's CPU per batch, measured in-process).
- No access log: the client API's PUT /api/v1/users/<user id>/error-reporting carries a cleartext
  user ID in its path (api.md), and no log line may hold one.
"""

import gc
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "portal.server.BufferingWorker"
logger_class = "portal.server.RedactingLogger"
preload_app = True
accesslog = None
# gunicorn 27 opens a control socket shared by every gunicorn of the machine (~/.gunicorn): the portal
# does not use it, and parallel servers (tests, benchmarks) must not share one.
control_socket_disable = True


def when_ready(server):
    gc.freeze()

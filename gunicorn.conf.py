"""gunicorn's settings for `gunicorn portal.wsgi`, read from this file when started in the project root.

- Workers: WEB_CONCURRENCY, or 2 x CPUs + 1. Ingestion spends part of each request waiting for its
  commit, so fewer workers leave CPU idle (benchmarks/ingest.py measures it).
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
preload_app = True
accesslog = None


def when_ready(server):
    gc.freeze()

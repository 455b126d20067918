"""The per-tenant rate limit of the client API: a fixed window of one minute in Django's cache.

The cache is shared by every web process when CACHE_URL names Redis, so the limit holds across
processes and across all the keys of a tenant. Local memory (the default) limits each process alone.
"""

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache

WINDOW_SECONDS = 60
logger = logging.getLogger(__name__)


def rate_limit_hit(*, tenant_id: int, now: float | None = None) -> int | None:
    """Count one request of a tenant. None while within TELEMETRY_RATE_LIMIT per minute; otherwise
    the seconds until the window ends (the Retry-After)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    key = f"telemetry:ratelimit:{tenant_id}:{window}"
    # The counter exists for all but the window's first request: incr() alone, then. The first makes it
    # with add(), a no-op when another process made it first, so concurrent processes share one counter;
    # the timeout outlives the window a little so that a slow request still finds its counter.
    try:
        try:
            count = cache.incr(key)
        except ValueError:  # the window's first request
            if cache.add(key, 1, timeout=WINDOW_SECONDS + 10):
                count = 1
            else:
                try:
                    count = cache.incr(key)
                except ValueError:  # made and already expired: a window long gone by
                    cache.set(key, 1, timeout=WINDOW_SECONDS + 10)
                    count = 1
    except Exception as error:  # any cache backend's failure, whatever its class
        # Fail open: an unreachable cache must not stop telemetry; the limit protects, it does not decide.
        logger.warning("The rate-limit cache failed (%s); the request was not counted.", type(error).__name__)
        return None
    if count <= settings.TELEMETRY_RATE_LIMIT:
        return None
    return max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))

"""Fixtures of the ingestion tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limit_counters():
    # Tenants of different tests may share a primary key; their rate-limit windows must not.
    cache.clear()
    yield
    cache.clear()

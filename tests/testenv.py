"""Loaded as a pytest plugin (`-p tests.testenv`) before Django reads its settings: the suite runs
with fixed, throw-away secrets, whatever the shell holds."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("TELEMETRY_HASH_KEY", "test-telemetry-hash-key")
os.environ.setdefault("DJANGO_SECURE_SSL", "false")

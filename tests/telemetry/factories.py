"""Records as a telemetry client sends them (the examples of api.md), for the ingestion tests."""

import datetime as dt
import uuid

# Records are dated a few days before the day the suite runs: recent enough for every retention
# (lifecycle.md: a record older than its retention is dropped as expired), whenever the suite runs.
DAY_DATE = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=5)
PREVIOUS_DAY = (DAY_DATE - dt.timedelta(days=1)).isoformat()
DAY = DAY_DATE.isoformat()
NEXT_DAY = (DAY_DATE + dt.timedelta(days=1)).isoformat()
TIMESTAMP = f"{DAY}T09:15:00Z"


def census(**fields) -> dict:
    record = {
        "id": str(uuid.uuid4()),
        "category": "census",
        "client": "desktop",
        "timestamp": TIMESTAMP,
        "app_name": "iPhoneSkype",
        "device_model": "iPhone",
        "os_name": "iPhoneiOS",
        "os_version": "8.3",
        "user_language": "EN-US",
        "user_id": "E296D735-4F36-4E18-7C3B-52E1A02A0164",
        "device_id": "5E872200-F546-4CCD-8F23-AF5F507AA2DD",
        "sign_in_attempts": 3,
        "sign_in_failures": 1,
    }
    record.update(fields)
    return record


def usage(**fields) -> dict:
    record = {
        "id": str(uuid.uuid4()),
        "category": "usage",
        "client": "desktop",
        "timestamp": TIMESTAMP,
        "pool": "pool01.contoso.com",
        "ims_sent": 12,
        "ims_received": 5,
        "meeting_join_attempts": 5,
        "meeting_join_successes": 4,
        "call_minutes": 30,
        "federation_partner": "microsoft.com",
    }
    record.update(fields)
    return record


def error(**fields) -> dict:
    record = {
        "id": str(uuid.uuid4()),
        "category": "error",
        "client": "desktop",
        "timestamp": TIMESTAMP,
        "pool": "pool01.contoso.com",
        "user_id": "amosmarble",
        "message_direction": "incoming",
        "conversation_state": "idle",
        "conversation_thread_id": "AdDO8hsJqilU93hQHC3OZaPR2saEA==",
        "error_code": "SIGNIN_TIMEOUT",
        "error_log": "...",
        "ip_address": "203.0.113.7",
        "sip_uri": "sip:amos.marble@contoso.com",
    }
    record.update(fields)
    return record

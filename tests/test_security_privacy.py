"""Sign-in protection keeps no full IP address: not in axes' tables, not in its log lines."""

import logging

import pytest
from axes.models import AccessAttempt, AccessLog
from django.urls import reverse

from portal.security import client_network
from tests.conftest import PASSWORD

CLIENT_IP = "198.51.100.77"


@pytest.mark.parametrize(
    ("remote_addr", "expected"),
    [
        ("198.51.100.77", "198.51.100.0"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::"),
        ("::ffff:198.51.100.77", "198.51.100.0"),
        ("", None),
        ("not-an-address", None),
    ],
)
def test_client_network_truncates(rf, remote_addr, expected):
    request = rf.get("/", REMOTE_ADDR=remote_addr)
    assert client_network(request) == expected


def test_failed_and_successful_sign_ins_store_and_log_only_the_network(client, hamlet, caplog):
    caplog.set_level(logging.DEBUG)
    url = reverse("admin:login")
    client.post(url, {"username": "hamlet", "password": "wrong-password"}, REMOTE_ADDR=CLIENT_IP)
    client.post(url, {"username": "hamlet", "password": PASSWORD}, REMOTE_ADDR=CLIENT_IP)

    attempts = list(AccessAttempt.objects.values_list("ip_address", flat=True))
    logs = list(AccessLog.objects.values_list("ip_address", flat=True))
    assert attempts + logs, "axes recorded nothing: the test would prove nothing"
    assert set(attempts + logs) == {"198.51.100.0"}
    assert CLIENT_IP not in caplog.text

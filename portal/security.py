"""Privacy of the portal's own sign-in protection.

django-axes remembers the address of every sign-in attempt (in its tables and its log lines). A full
IP address is personal data that no table or log of this portal may hold, so axes is given the
network instead (/24 for IPv4, /48 for IPv6, the same truncation as error reports): lockout then
works per user name and network, which is what brute-force protection needs.
"""

import ipaddress

from telemetry.pseudonymize import truncate_ip


def client_network(request) -> str | None:
    """The first address of the client's network, e.g. 203.0.113.0 for 203.0.113.7."""
    try:
        network = truncate_ip(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return None
    return str(ipaddress.ip_network(network).network_address)

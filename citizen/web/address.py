"""The address phones use to reach this laptop on the local network, found without sending traffic."""

from __future__ import annotations

import ipaddress
import socket

# Connecting a UDP socket only picks the route and the local address for it: no packet leaves.
_PROBES = ("10.255.255.255", "192.168.255.255", "172.16.255.255")
_ANY = {"", "0.0.0.0", "::", "[::]"}


def local_address() -> str:
    """This laptop's IPv4 address on the local network, or 127.0.0.1 when it has none."""
    for probe in _PROBES:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.connect((probe, 9))
                address = sock.getsockname()[0]
        except OSError:
            continue
        if address and not address.startswith("0."):
            return address
    return "127.0.0.1"


def base_url(host: str, port: int) -> str:
    """The link phones open: the chosen address, or the local-network address when bound to all."""
    shown = local_address() if host.strip() in _ANY else host.strip()
    try:
        if ipaddress.ip_address(shown.strip("[]")).version == 6:
            shown = f"[{shown.strip('[]')}]"
    except ValueError:
        pass  # a host name: used as it is
    return f"http://{shown}:{port}"

"""The address phones use to reach this laptop on the local network, found without sending traffic."""

from __future__ import annotations

import errno
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


DEFAULT_PORT = 8080  # the port phones are served on unless --port says otherwise


def default_url_base() -> str:
    """Where phones reach this laptop when it serves on every network at the usual port."""
    return base_url("0.0.0.0", DEFAULT_PORT)


def join_link(url_base: str, invite_token: str) -> str:
    """The link an invite's QR code carries: a volunteer opens it to join."""
    return f"{url_base.rstrip('/')}/j/{invite_token}"


def private_link(url_base: str, link_token: str) -> str:
    """A participant's own page, where they contribute, read updates, change consent or leave."""
    return f"{url_base.rstrip('/')}/p/{link_token}"


def bind_problem(exc: Exception, host: str, port: int) -> str:
    """Why the phone pages could not be served at ``host``:``port``, and what to choose instead."""
    code = getattr(exc, "errno", None)
    if code == errno.EADDRINUSE:
        return (
            f"Port {port} is already in use on this laptop (is citizen already serving?). "
            f"Choose another port, for example {port + 1 if port else 8081}."
        )
    if code == errno.EACCES:
        return f"Port {port} needs administrator rights; choose a port above 1023, such as 8080."
    return (
        f"'{host}' is not an address of this laptop. Use 0.0.0.0 to serve on every network, "
        "or one of this laptop's own addresses."
    )

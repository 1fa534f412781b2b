"""Address checks before any request: only http(s), and no private or special addresses.

A URL is refused when its host is, or resolves to, a loopback, private, link-local,
unique-local, multicast, reserved or cloud-metadata address, unless private addresses
are allowed explicitly. The check runs again on every redirect target.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from kb.errors import BlockedAddressError, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

ALLOWED_SCHEMES = ("http", "https")

# Named explicitly so the refusal reason is readable; is_private etc. cover the rest.
_METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


def is_blocked_ip(ip: IPAddress) -> bool:
    """True for an address that is not a public unicast internet address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return is_blocked_ip(ip.ipv4_mapped)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """The addresses a host name resolves to; raises FetchError when it does not resolve."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"DNS lookup failed for {host}", source=host) from exc
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


def check_url(url: str, *, allow_private: bool, is_blocked: AddressPolicy = is_blocked_ip) -> None:
    """Refuse a URL with a non-http(s) scheme or a host at a private or special address.

    Args:
        url: the URL about to be requested (also each redirect target).
        allow_private: when true, only the scheme is checked.
        is_blocked: which resolved addresses to refuse (default: `is_blocked_ip`).

    Raises:
        BlockedAddressError: bad scheme, or a blocked address.
        FetchError: the host name does not resolve.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise BlockedAddressError(
            f"scheme {scheme or '(none)'!r} not allowed (only http and https)", source=url
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise BlockedAddressError("URL has no host", source=url)
    if allow_private:
        return
    if host in _METADATA_HOSTS:
        raise BlockedAddressError(f"metadata host {host} refused", source=url)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError("invalid port in URL", source=url) from exc
    try:
        addresses = resolve_host(host, port)
    except FetchError as exc:
        raise FetchError(exc.message, source=url) from exc
    for ip in addresses:
        if is_blocked(ip):
            raise BlockedAddressError(
                f"private or special address {ip} refused (to fetch it: --allow-private on the "
                "command line, or the setting SIGNALKB_ALLOW_PRIVATE=1, which `serve` reads)",
                source=url,
            )

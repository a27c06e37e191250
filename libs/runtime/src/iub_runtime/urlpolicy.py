"""Where a callback may go: no server-side request forgery (intake checks at admission, notify at send time).

A callback URL is accepted only when it matches one of the client's configured prefixes (scheme,
host, port and a path prefix, compared as parts, never as strings), has no credentials, names its
host as a DNS name or a canonical IP literal (no ``2130706433``, ``0x7f.1``, ``0177.0.0.1``,
``127.1``), and every address the host resolves to is public: loopback, private, link-local,
shared, multicast, reserved, unspecified and cloud metadata addresses are refused, also when
they hide inside an IPv6 form (``::ffff:127.0.0.1``, 6to4, Teredo, NAT64). Plain http is allowed
only to networks an operator listed explicitly (``IUB_CALLBACK_ALLOWED_NETWORKS``, off by
default; for development and tests). Refusal texts are fixed and never repeat the URL.

Everything here is pure except ``resolve`` (DNS) and ``check_resolved`` which uses it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

MAX_URL = 2000
DEFAULT_PORTS = {"https": 443, "http": 80}

# instance metadata services: never a callback target, whatever an operator allows
METADATA = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean …
    "169.254.170.2",  # AWS ECS task metadata
    "169.254.169.253",  # AWS DNS
    "fd00:ec2::254",  # AWS IMDS over IPv6
    "fd00:ec2::253",
    "100.100.100.200",  # Alibaba Cloud
    "168.63.129.16",  # Azure wire server
    "192.0.0.192",  # Oracle Cloud
))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERICISH = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_DECIMAL_OCTET = re.compile(r"^(0|[1-9][0-9]{0,2})$")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_BAD_PATH = re.compile(r"(^|/)\.{1,2}(/|$)|%2e|%2f|%5c|%00", re.IGNORECASE)


class UrlRefused(ValueError):
    """A callback URL or address the policy refuses; the message is a fixed text without the URL."""


@dataclass(frozen=True)
class Target:
    """A callback URL taken apart: scheme, host (lower case), effective port, path, and the IP if a literal."""

    scheme: str
    host: str
    port: int
    path: str
    ip: IPAddress | None


def _host_ip(host: str) -> IPAddress | None:
    """The IP of a literal host, None for a DNS name; refuses odd numeric forms and malformed names."""
    if ":" in host:  # urlsplit has removed the brackets of an IPv6 literal
        if "%" in host:
            raise UrlRefused("IPv6-adress med zon-id är inte tillåten")
        try:
            return ipaddress.IPv6Address(host)
        except ValueError:
            raise UrlRefused("ogiltig IPv6-adress") from None
    labels = host.split(".")
    if any(_NUMERICISH.match(lab) for lab in labels[-1:]) or all(_NUMERICISH.match(lab) for lab in labels if lab):
        # only the canonical dotted quad: 2130706433, 0x7f.1, 0177.0.0.1 and 127.1 all mean 127.0.0.1
        if len(labels) != 4 or not all(_DECIMAL_OCTET.match(lab) and int(lab) <= 255 for lab in labels):
            raise UrlRefused("värdnamnet har en ovanlig numerisk form")
        return ipaddress.IPv4Address(host)
    if len(host) > 253 or len(labels) < 2 or not all(_LABEL.match(lab) for lab in labels):
        raise UrlRefused("ogiltigt värdnamn")
    if labels[-1] in ("localhost", "local", "internal", "localdomain", "home", "lan", "intranet", "corp"):
        raise UrlRefused("värdnamnet är internt")
    return None


def parse(url: str) -> Target:
    """Take a callback URL apart, refusing credentials, odd host forms and tricky paths (pure)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL:
        raise UrlRefused("callback_url saknas eller är för lång")
    if _BAD_CHARS.search(url):
        raise UrlRefused("callback_url innehåller otillåtna tecken")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("callback_url kan inte tolkas") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UrlRefused("callback_url måste vara en https-adress")
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UrlRefused("callback_url får inte innehålla inloggningsuppgifter")
    host = parts.hostname or ""
    if not host or "%" in parts.netloc or not host.isascii():
        raise UrlRefused("callback_url har ett ogiltigt värdnamn")
    if parts.fragment:
        raise UrlRefused("callback_url får inte ha ett fragment")
    if _BAD_PATH.search(parts.path):
        raise UrlRefused("callback_url har en otillåten sökväg")
    if port == 0:
        raise UrlRefused("callback_url har en ogiltig port")
    ip = _host_ip(host)
    return Target(scheme=scheme, host=str(ip) if ip else host, port=port or DEFAULT_PORTS[scheme],
                  path=parts.path or "/", ip=ip)


def matches_prefix(target: Target, prefix: Target) -> bool:
    """Same scheme, host and port, and the path lies under the prefix's path (at a segment boundary)."""
    if (target.scheme, target.host, target.port) != (prefix.scheme, prefix.host, prefix.port):
        return False
    base = prefix.path
    if base.endswith("/"):
        return target.path.startswith(base)
    return target.path == base or target.path.startswith(base + "/")


def check_static(url: str, prefixes: Sequence[str] | None) -> Target:
    """The parsed URL if it matches one of the prefixes (None: no prefix list, development mode only)."""
    target = parse(url)
    if prefixes is not None:
        if not prefixes:
            raise UrlRefused("klienten har inga tillåtna callback-adresser")
        if not any(matches_prefix(target, parse(p)) for p in prefixes):
            raise UrlRefused("callback_url är inte en adress klienten får använda")
    return target


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, 6to4, Teredo, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _NAT64_LOCAL or int(ip) >> 32 == 0:  # NAT64, and the old IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_refusal(ip: IPAddress, allowed: Iterable[IPNetwork] = ()) -> str | None:
    """Why a callback may not go to this address, or None (pure)."""
    inner = embedded_ipv4(ip)
    if inner is not None and (why := address_refusal(inner, allowed)) is not None:
        return why
    if ip in METADATA or (inner is not None and inner in METADATA):
        return "metadataadress"
    if any(ip.version == n.version and ip in n for n in allowed):
        return None
    if ip.is_unspecified:
        return "ospecificerad adress"
    if ip.is_loopback:
        return "loopback-adress"
    if ip.is_link_local:
        return "link-local-adress"
    if ip.is_multicast:
        return "multicast-adress"
    if ip.is_private:
        return "privat adress"
    if ip.is_reserved:
        return "reserverad adress"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "site-local-adress"
    if not ip.is_global:
        return "inte en publik adress"
    return None


def check_addresses(target: Target, addresses: Iterable[str], allowed: Sequence[IPNetwork] = ()) -> None:
    """Refuse unless every address is allowed; plain http only to explicitly allowed networks (pure)."""
    ips = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    if not ips:
        raise UrlRefused("callback_url kan inte slås upp")
    for ip in ips:
        if (why := address_refusal(ip, allowed)) is not None:
            raise UrlRefused(f"callback_url pekar på en otillåten adress ({why})")
    explicitly_allowed = all(any(ip.version == n.version and ip in n for n in allowed) for ip in ips)
    if target.scheme != "https" and not explicitly_allowed:
        raise UrlRefused("callback_url måste vara en https-adress")


def networks(values: Iterable[str]) -> list[IPNetwork]:
    """Parse the operator's allowed networks (CIDR strings)."""
    return [ipaddress.ip_network(v, strict=False) for v in values]


async def resolve(host: str, port: int, timeout_s: float = 3.0) -> list[str]:
    """Every address a host name resolves to (I/O: the system resolver); [] when it does not resolve."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout_s)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in infos})


async def check_resolved(url: str, prefixes: Sequence[str] | None, allowed: Sequence[IPNetwork] = (),
                         resolver: Resolver = resolve) -> Target:
    """The whole policy: static checks, then every resolved address (a literal IP is its own address)."""
    target = check_static(url, prefixes)
    addresses = [str(target.ip)] if target.ip is not None else await resolver(target.host, target.port)
    check_addresses(target, addresses, allowed)
    return target

"""Where webhooks may go, and sending to exactly there.

A webhook URL is a request the server makes on a caller's behalf, so it must not reach inside the
server's own network (cloud metadata, the database, admin ports). A URL is allowed when it is https and
every address its host resolves to is public: not loopback, private, link-local, multicast, reserved,
unspecified or shared (100.64.0.0/10), nor an IPv6 form carrying such an IPv4 address (mapped, 6to4,
NAT64). Numeric forms (``127.1``, ``2130706433``, ``0x7f000001``) resolve through ``getaddrinfo`` like
names, so the resolved addresses are what is judged. The check runs at registration and again at every
delivery, and the POST goes to the address just checked (the Host header and TLS server name carry the
host name, so the certificate is verified against it): a name that resolves elsewhere by then (DNS
rebinding) reaches nothing new. Redirects are never followed. ``allow_internal`` lifts the address
and https rules, for tests and local receivers only.

The caller learns why a URL is refused (which kind of address), never an address; a delivery's log
holds a generic outcome only.
"""

import ipaddress
import re
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlsplit

import certifi
import httpx

from config.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""The addresses a host name resolves to (raises ``OSError`` when it does not resolve)."""
MAX_URL_LENGTH = 2000
ADDRESSES_TRIED = 3
"""A host's addresses tried in turn when one does not connect (an AAAA record on an IPv4-only network)."""
OUTCOMES = frozenset(
    (
        "timed out",
        "connection failed",
        "TLS error",
        "address not allowed",
        "host not found",
        "webhook disabled",
    )
)
"""What a delivery's log may say besides ``HTTP <status>``: never an exception's own words."""
SHARED = ipaddress.IPv4Network("100.64.0.0/10")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
KINDS: tuple[tuple[str, Callable[[IPAddress], bool]], ...] = (
    ("a loopback", lambda a: a.is_loopback),
    ("an unspecified", lambda a: a.is_unspecified),
    ("a link-local", lambda a: a.is_link_local),
    ("a multicast", lambda a: a.is_multicast),
    ("a shared", lambda a: a in SHARED),
    ("a private", lambda a: a.is_private),
    ("a reserved", lambda a: a.is_reserved),
    ("a non-public", lambda a: not a.is_global),
)


class Refused(Exception):
    """A URL the server will not send to; ``reason`` is safe to show the caller."""

    def __init__(self, reason: str, outcome: str = "address not allowed") -> None:
        super().__init__(reason)
        self.reason = reason
        self.outcome = outcome
        """What a delivery's log says instead."""


def generic(error: str | None) -> str | None:
    """``error`` if it is one of the generic outcomes (or an HTTP status), else "connection failed": a
    log written before outcomes were generic shows no more than one written now."""
    if error is None or error in OUTCOMES or re.fullmatch(r"HTTP \d{3}", error):
        return error
    return "connection failed"


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` gives for ``host``, in its order."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(entry[4][0]) for entry in found))


def address_kind(address: IPAddress) -> str | None:
    """Why the server may not connect to ``address`` ("a private" ...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if carried is None and address in NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            return address_kind(carried)
    return next((kind for kind, applies in KINDS if applies(address)), None)


@dataclass(frozen=True)
class Pinned:
    """A URL checked just now: the addresses to connect to (in the resolver's order) and the name the
    receiver knows itself by."""

    url: httpx.URL
    addresses: tuple[str, ...]

    def request(
        self, client: httpx.Client, address: str, body: bytes, headers: Mapping[str, str]
    ) -> httpx.Request:
        extensions = {"sni_hostname": self.url.raw_host.decode("ascii")} if self.url.scheme == "https" else {}
        return client.build_request(
            "POST",
            self.url.copy_with(host=address),
            content=body,
            headers={**headers, "Host": self.url.netloc.decode("ascii")},
            extensions=extensions,
        )


@dataclass(frozen=True)
class Outbound:
    """The rules and the client for every request made to a webhook receiver."""

    allow_internal: bool = False
    timeout: float = 5.0
    ca_bundle: str = ""
    resolve: Resolver = system_resolver

    @classmethod
    def from_settings(cls, settings: Settings, resolve: Resolver = system_resolver) -> "Outbound":
        return cls(
            allow_internal=settings.webhook_allow_internal,
            timeout=settings.webhook_timeout_seconds,
            ca_bundle=settings.webhook_ca_bundle,
            resolve=resolve,
        )

    def check(self, url: str) -> Pinned:
        """``url`` with the addresses to send to; raises ``Refused`` saying why not."""
        parsed = self._parse(url)
        try:
            found = self.resolve(parsed.raw_host.decode("ascii"), parsed.port or _default_port(parsed))
            addresses = [ipaddress.ip_address(address.partition("%")[0]) for address in found]
        except (OSError, UnicodeError, ValueError):
            raise Refused("the host name does not resolve", "host not found") from None
        if not addresses:
            raise Refused("the host name does not resolve", "host not found")
        if not self.allow_internal:
            for address in addresses:
                kind = address_kind(address)
                if kind is not None:
                    raise Refused(f"resolves to {kind} address")
        return Pinned(parsed, tuple(dict.fromkeys(str(address) for address in addresses)))

    @property
    def longest_attempt(self) -> float:
        """Seconds one ``post`` may take at most: resolving, connecting to each address tried, sending
        and reading the status, each bounded by the timeout."""
        return self.timeout * (ADDRESSES_TRIED + 3)

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int | None, str | None]:
        """POST to ``url`` after checking it again, trying its first few addresses in turn until one
        connects: the HTTP status (or None) and the error to log (None for a 2xx answer), in generic
        words (see ``OUTCOMES``)."""
        try:
            pinned = self.check(url)
        except Refused as refused:
            return None, refused.outcome
        error = "connection failed"
        with httpx.Client(
            verify=self._tls, timeout=self.timeout, follow_redirects=False, trust_env=False
        ) as client:
            for address in pinned.addresses[:ADDRESSES_TRIED]:
                try:
                    # the body of the answer is never read: its status is all a delivery needs
                    response = client.send(pinned.request(client, address, body, headers), stream=True)
                    response.close()
                except httpx.ConnectTimeout:
                    error = "timed out"
                    continue  # the next address
                except httpx.ConnectError as failure:
                    error = "TLS error" if _caused_by_tls(failure) else "connection failed"
                    continue
                except httpx.TimeoutException:
                    return None, "timed out"
                except (httpx.HTTPError, OSError) as failure:
                    return None, "TLS error" if _caused_by_tls(failure) else "connection failed"
                status = response.status_code
                return status, None if 200 <= status < 300 else f"HTTP {status}"
        return None, error

    def _parse(self, url: str) -> httpx.URL:
        schemes = ("http", "https") if self.allow_internal else ("https",)
        shape = (
            f"expected an {'http(s)' if self.allow_internal else 'https'} URL with a host, "
            f"at most {MAX_URL_LENGTH} characters, no spaces"
        )
        if len(url) > MAX_URL_LENGTH or any(char.isspace() or not char.isprintable() for char in url):
            raise Refused(shape)
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
            parsed = httpx.URL(url)
        except (ValueError, httpx.InvalidURL):  # e.g. an unclosed [IPv6 address, a bad IDNA name
            raise Refused(shape) from None
        if parts.scheme == "http" and not self.allow_internal:
            raise Refused("plain http is not allowed: expected an https URL")
        if parts.scheme not in schemes or not parts.hostname or not parsed.raw_host:
            raise Refused(shape)
        return parsed

    @cached_property
    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle or certifi.where())


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _caused_by_tls(failure: BaseException) -> bool:
    cause: BaseException | None = failure
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False

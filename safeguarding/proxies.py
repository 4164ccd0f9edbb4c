"""Forwarded headers, believed only when they come from the proxies we run.

Behind a load balancer every request arrives from the balancer's address. Its
`X-Forwarded-For` says who the client is, and `X-Forwarded-Proto` whether they used HTTPS; but
anyone can send those headers. So they are honoured only from the addresses in
TRUSTED_PROXIES (addresses or networks), and dropped from anyone else. The client is the
right-most address in `X-Forwarded-For` that is not one of ours: each proxy appends the peer it
saw, so addresses to the left of the first untrusted hop were written by the client itself.

The result is the request's REMOTE_ADDR, which the audit trail, sign-in records and
django-axes' lockout read; SECURE_PROXY_SSL_HEADER is safe to use because an untrusted
`X-Forwarded-Proto` never reaches it.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Headers only a proxy of ours may set.
FORWARDED_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_FORWARDED",
)


@functools.cache
def _networks(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(proxy.strip(), strict=False) for proxy in proxies)


def is_trusted_proxy(address: str) -> bool:
    """Whether `address` is one of the proxies in TRUSTED_PROXIES."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_address(remote_addr: str, forwarded_for: str) -> str:
    """Who the client is: the right-most hop a trusted proxy vouched for that is not a proxy."""
    if not is_trusted_proxy(remote_addr):
        return remote_addr
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote_addr  # a malformed chain: believe only the peer we saw
        if not is_trusted_proxy(hop):
            return hop
    return hops[0] if hops else remote_addr


def request_client_ip(request: HttpRequest) -> str | None:
    """The client's address as this module settled it (django-axes' AXES_CLIENT_IP_CALLABLE)."""
    return request.META.get("REMOTE_ADDR") or None


class TrustedProxyMiddleware:
    """First in the chain: settle REMOTE_ADDR, and drop forwarded headers nobody vouched for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        peer = request.META.get("REMOTE_ADDR", "")
        if is_trusted_proxy(peer):
            forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR", "")
            request.META["REMOTE_ADDR"] = client_address(peer, forwarded_for)
        else:
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)

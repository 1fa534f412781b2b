"""Who may talk to the app: loopback by default, a token beyond it, no cross-site writes.

- Without `SIGNALKB_TOKEN`, only requests addressed to a loopback host name are served,
  which also defeats DNS rebinding (a hostile page whose name resolves to 127.0.0.1).
- With a token, every request must carry it: `Authorization: Bearer <token>`, the cookie
  set by visiting any page once with `?token=<token>`, or that query parameter itself.
- A POST whose `Origin` is another site is refused, so a web page cannot start an ingest
  or delete an article in the user's name.
"""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlparse

from starlette.requests import Request

COOKIE = "signalkb_token"
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and `localhost`."""
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def presented_token(request: Request) -> str:
    """The token a request carries, from its header, query or cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("token") or request.cookies.get(COOKIE, "")


def refusal(request: Request, token: str) -> tuple[int, str] | None:
    """Why this request must be refused (status and reason), or None to serve it."""
    if token:
        if not secrets.compare_digest(presented_token(request).encode(), token.encode()):
            return 401, "This server needs a token: open it once with ?token=<SIGNALKB_TOKEN>."
    elif not is_loopback(request.url.hostname or ""):
        return 403, "This server only answers on 127.0.0.1 unless SIGNALKB_TOKEN is set."
    origin = request.headers.get("origin")
    # A sandboxed frame sends "Origin: null", which never matches the host: refused too.
    cross_site = origin is not None and urlparse(origin).netloc != request.headers.get("host")
    if request.method == "POST" and cross_site:
        return 403, "Cross-site requests may not change the knowledge base."
    return None

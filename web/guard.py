"""Who may talk to the app: loopback by default, a token beyond it, no cross-site writes.

- Without `SIGNALKB_TOKEN`, only requests addressed to a loopback host name are served,
  which also defeats DNS rebinding (a hostile page whose name resolves to 127.0.0.1).
- With a token, every request must carry it: `Authorization: Bearer <token>`, the cookie
  set by visiting any page once with `?token=<token>`, or that query parameter itself.
- A POST whose `Origin` is another site is refused, so a web page cannot start an ingest
  or delete an article in the user's name.

`Guard` applies these rules to every request and adds the security headers to every answer.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "signalkb_token"
LOOPBACK_NAMES = ("localhost",)
SECURITY_HEADERS = {
    # Scraped text is untrusted: no inline script may ever run, whatever slips through.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
_RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_RAW_NAMES = {name for name, _ in _RAW_HEADERS}

RefusedPage = Callable[[Request, int, str, str], Response]


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


class Guard:
    """ASGI middleware: refuses what `refusal` refuses, moves `?token=` into a cookie, and
    adds `SECURITY_HEADERS` to every response it passes on.

    A plain ASGI class rather than `@app.middleware("http")`: Starlette's
    BaseHTTPMiddleware runs each request in an extra task and streams the body through a
    memory channel, which made up a measurable part of the search page's time.
    """

    def __init__(self, app: ASGIApp, *, token: str, refused: RefusedPage) -> None:
        self.app = app
        self.token = token
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                kept = [(k, v) for k, v in headers if k.lower() not in _RAW_NAMES]
                message["headers"] = kept + _RAW_HEADERS
            await send(message)

        request = Request(scope)
        refused = refusal(request, self.token)
        response: Response | None = None
        if refused:
            response = self.refused(request, refused[0], "Not allowed", refused[1])
        elif self.token and request.query_params.get("token"):
            # Keep the token out of the address bar and history: set the cookie, drop it.
            response = RedirectResponse(str(request.url.remove_query_params("token")), 303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        if response is not None:
            await response(scope, receive, send_with_headers)
        else:
            await self.app(scope, receive, send_with_headers)

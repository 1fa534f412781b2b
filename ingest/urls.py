"""URL normalisation: one spelling per article, so the same page is stored once.

`normalize_url` lower-cases the scheme and host, drops default ports, fragments,
tracking parameters (utm_*, fbclid, gclid, ...) and a trailing slash, and sorts the
query. `is_url` tells a URL from a local path.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "cmpid",
        "ncid",
        "ocid",
        "sr_share",
        "spm",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt.mc_id",
        "s_cid",
        "guccounter",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_", "__s")

_DEFAULT_PORTS = {"http": 80, "https": 443}
# characters left unescaped in a normalised path (RFC 3986 unreserved + sub-delims + ':@/')
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def is_url(source: str) -> bool:
    """True when `source` looks like a URL with a scheme and host (not a local path)."""
    parts = urlsplit(source.strip())
    return bool(parts.scheme) and len(parts.scheme) > 1 and bool(parts.netloc)


def is_tracking_param(name: str) -> bool:
    """True for a query parameter that only tracks where a click came from."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """The canonical spelling of an http(s) URL; other URLs come back stripped only.

    Args:
        url: an absolute URL.

    Returns:
        The URL with lower-case scheme and host, no default port, no fragment, no
        tracking parameters, sorted query and no trailing slash (except the root).
    """
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        return url
    host = (parts.hostname or "").rstrip(".")
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        host = host.lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path, safe=_PATH_SAFE) or "/"
    while "//" in path:
        path = path.replace("//", "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not is_tracking_param(k)
    ]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query)), ""))

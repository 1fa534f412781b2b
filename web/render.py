"""One way out for every page: the same context dict as HTML (Jinja2) or as JSON.

Scraped text is untrusted, so the Jinja2 environment autoescapes everything and the
filters here build markup only from escaped pieces.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from web import charts

TEMPLATES_DIR = Path(__file__).parent / "templates"
_SAFE_SCHEMES = ("http", "https")
_WORD = re.compile(r"\w{3,}")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def safe_href(url: str) -> str:
    """The URL when it is http(s); an empty string for `javascript:`, `data:` and the like."""
    parsed = urlparse(url.strip())
    return url.strip() if parsed.scheme.lower() in _SAFE_SCHEMES and parsed.netloc else ""


@lru_cache(maxsize=256)
def _words_pattern(query: str) -> re.Pattern[str] | None:
    """The words of a query (3+ letters) as one case-insensitive pattern, longest first."""
    words = {w.lower() for w in _WORD.findall(query)}
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I)


def highlight(text: str, query: str) -> Markup:
    """Escape `text`, then wrap each word of `query` (3+ letters) found in it in <mark>."""
    pattern = _words_pattern(query or "")
    if pattern is None:
        return escape(text)
    # Escaped pieces joined as plain strings: Markup's own `+` escapes again at every step.
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts += (escape(text[last : match.start()]), "<mark>", escape(match.group(0)), "</mark>")
        last = match.end()
    parts.append(escape(text[last:]))
    return Markup("".join(parts))


def inline_code(text: str) -> Markup:
    """Escape `text`, then turn each `span` in backticks into <code>span</code>."""
    return Markup(_INLINE_CODE.sub(r"<code>\1</code>", str(escape(text))))


def duration(seconds: float) -> str:
    """Seconds as "42 s" or "3 min 05 s" (app.js writes them the same way)."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    return f"{whole // 60} min {whole % 60:02d} s"


def query_string(params: dict[str, Any], **changes: Any) -> str:
    """`?a=1&b=2` from params with some changed; empty and None values are dropped."""
    merged = {**params, **changes}
    kept = [
        (key, item)
        for key, value in merged.items()
        for item in (value if isinstance(value, list | tuple) else [value])
        if item not in (None, "")
    ]
    return "?" + urlencode(kept) if kept else ""


def json_href(request: Request) -> str:
    """This page's own URL with `format=json` added: its JSON twin."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "format"]
    return request.url.path + "?" + urlencode([*params, ("format", "json")])


def make_templates() -> Jinja2Templates:
    """The Jinja2 templates of the app, autoescaping every template."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates ship with the code: no stat() of every template (and of each include
        # inside a loop) on every render to see whether it changed on disk.
        auto_reload=False,
    )
    env.filters["safe_href"] = safe_href
    env.filters["highlight"] = highlight
    env.filters["inline_code"] = inline_code
    env.filters["duration"] = duration
    env.globals["query_string"] = query_string
    env.globals["json_href"] = json_href
    env.globals.update(
        column_chart=charts.column_chart,
        bar_chart=charts.bar_chart,
        sparkline=charts.sparkline,
        monthly_points=charts.monthly_points,
        monthly_totals=charts.monthly_totals,
    )
    return Jinja2Templates(env=env)


def wants_json(request: Request) -> bool:
    """True for `/api/...` paths and for `?format=json`."""
    return request.url.path.startswith("/api/") or request.query_params.get("format") == "json"


def respond(
    request: Request, template: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    """Render `context` with `template`, or return it as JSON when the request asks for it."""
    if wants_json(request):
        return JSONResponse(jsonable_encoder(context), status_code=status_code)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, template, context, status_code=status_code)

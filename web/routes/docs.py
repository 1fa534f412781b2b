"""`/docs`: the OpenAPI description of the JSON API as a plain local page.

FastAPI's own Swagger UI loads its script from a CDN; this page renders the same
`/openapi.json` on the server so that nothing comes from the internet.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from web.render import respond

router = APIRouter()


def _schema_type(schema: dict[str, Any]) -> str:
    """A parameter's type in words; allowed values in backticks, an empty value as "or empty"."""
    if "anyOf" in schema:
        return " | ".join(_schema_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_schema_type(schema.get('items', {}))}"
    if "enum" in schema:
        named = " | ".join(f"`{v}`" for v in schema["enum"] if v != "")
        return f"{named} or empty" if "" in schema["enum"] else named
    return str(schema.get("type") or schema.get("$ref", "").rsplit("/", 1)[-1] or "any")


def endpoints(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """Each documented operation: method, path, summary and its parameters."""
    out = []
    for path, operations in openapi.get("paths", {}).items():
        for method, op in operations.items():
            out.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": _schema_type(p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                }
            )
    return out


@router.get("/docs", include_in_schema=False)
def docs_page(request: Request) -> Response:
    """The JSON API, as described by the app's OpenAPI schema."""
    openapi = request.app.openapi()
    context = {"info": openapi["info"], "endpoints": endpoints(openapi)}
    return respond(request, "docs.html", context)

"""A small JSON-schema checker for the answers SLMExtractor asks for.

It covers the subset of JSON Schema the extractor's questions use (object, properties,
required, string with enum/minLength/maxLength, integer with minimum/maximum, array with
items/minItems/maxItems) and says what is wrong in words a model can act on.
"""

from __future__ import annotations

from typing import Any


def errors(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """What is wrong with `value` against `schema`; empty when it conforms."""
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path} must be a JSON object"]
        found: list[str] = []
        for key in schema.get("required", []):
            if key not in value:
                found.append(f"{path}.{key} is missing")
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                found += errors(value[key], sub, f"{path}.{key}")
        return found
    if kind == "array":
        if not isinstance(value, list):
            return [f"{path} must be a list"]
        found = []
        if len(value) < schema.get("minItems", 0):
            found.append(f"{path} needs at least {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            found.append(f"{path} has more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            found += errors(item, schema.get("items", {}), f"{path}[{i}]")
        return found
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path} must be a string"]
        if "enum" in schema and value not in schema["enum"]:
            return [f"{path} must be one of: {', '.join(schema['enum'])}"]
        if len(value.strip()) < schema.get("minLength", 0):
            return [f"{path} is too short"]
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return [f"{path} is longer than {schema['maxLength']} characters"]
        return []
    if kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [f"{path} must be an integer"]
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            return [f"{path} must be from {schema.get('minimum')} to {schema.get('maximum')}"]
    return []


def coerce_field(answer: str, schema: dict[str, Any]) -> Any:
    """Read one field's value out of a plain-text answer (for field-by-field repair).

    Returns None when the answer holds no acceptable value.
    """
    text = " ".join(answer.split()).strip(" .\"'")
    kind = schema.get("type")
    if "enum" in schema:
        low = text.lower()
        hits = [opt for opt in schema["enum"] if opt.lower() in low]
        # The longest option named wins ("research paper" over "paper").
        return max(hits, key=len) if hits else None
    if kind == "integer":
        digits = [int(t) for t in text.replace(",", " ").split() if t.isdigit()]
        good = [d for d in digits if not errors(d, schema)]
        return good[0] if good else None
    if kind == "array":
        parts = [p.strip(" .\"'-*") for p in text.replace("\n", ",").split(",")]
        items = [p for p in parts if p]
        return items[: schema.get("maxItems", len(items))] or None
    if kind == "string":
        value = text[: schema.get("maxLength", len(text))]
        return value if not errors(value, schema) else None
    return None

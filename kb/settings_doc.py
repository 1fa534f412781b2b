"""Write docs/settings.md from the Settings model (`python -m kb.settings_doc`)."""

from __future__ import annotations

import sys

from kb.settings import Settings


def settings_markdown() -> str:
    """A Markdown table of every setting: environment variable, default and help."""
    lines = [
        "# Settings",
        "",
        "Every setting is read from the environment (CLI options override it).",
        "Generated from `kb/settings.py` by `python -m kb.settings_doc`.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default if field.default not in ("", None) else "(empty)"
        lines.append(f"| `SIGNALKB_{name.upper()}` | `{default}` | {field.description} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(settings_markdown())

"""What `export` can write, by name: the file formats and the tables (no pandas import, so
that the CLI can offer them as choices without loading the exporter)."""

from __future__ import annotations

from typing import Literal

from kb.records import KINDS

Format = Literal["csv", "xlsx", "parquet", "json", "md"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx", "parquet", "json", "md")
EXPORT_KINDS: tuple[str, ...] = (*KINDS, "articles", "all")

"""The packages stand in one order, and every import points down it (signalkb/__init__.py).

kb ← ingest ← web ← signalkb: a module may import its own package and those before it in
`LAYERS`, never one after. Imports inside functions and under TYPE_CHECKING count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("kb", "ingest", "web", "signalkb")


def imported_packages(path: Path) -> set[str]:
    """The top-level names of every absolute import in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules() -> list[tuple[str, Path]]:
    """(package, module path) of every module of the four packages."""
    return [
        (package, path) for package in LAYERS for path in sorted((ROOT / package).rglob("*.py"))
    ]


@pytest.mark.parametrize(
    ("package", "path"),
    modules(),
    ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v,
)
def test_imports_point_down_the_layers(package: str, path: Path) -> None:
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    upward = imported_packages(path) & (set(LAYERS) - allowed)
    assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)} above {package}"


def test_every_package_has_modules() -> None:
    assert {package for package, _ in modules()} == set(LAYERS)

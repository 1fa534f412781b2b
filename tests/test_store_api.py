"""The public surface of `kb`: a sorted `__all__` whose names all resolve, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import kb


def test_all_is_sorted_and_resolves() -> None:
    assert kb.__all__ == sorted(kb.__all__)
    for name in kb.__all__:
        assert getattr(kb, name) is not None
    assert set(kb.__all__) <= set(dir(kb))


def test_importing_kb_stays_light() -> None:
    heavy = "{'chromadb', 'pandas', 'torch'}"
    code = f"import sys, kb, kb.errors; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

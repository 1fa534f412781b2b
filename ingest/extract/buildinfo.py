"""What the installed llama.cpp was compiled for, checked against this machine's CPU.

The Makefile builds llama-cpp-python without `-march=native` and without AMX, enabling the
instruction sets /proc/cpuinfo reports (see the Makefile's LLAMA_CMAKE_ARGS). This module
reads the build back: the features llama.cpp says it was compiled with, and whether AMX
kernels are in `libggml-cpu.so`, so `signalkb doctor` and the tests can tell a portable
build from a native one on any machine.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# llama.cpp's feature names and the /proc/cpuinfo flags each one needs.
FEATURE_FLAGS: dict[str, tuple[str, ...]] = {
    "AVX": ("avx",),
    "AVX2": ("avx2",),
    "F16C": ("f16c",),
    "FMA": ("fma",),
    "AVX_VNNI": ("avx_vnni",),
    "AVX512": ("avx512f",),
    "AVX512_VBMI": ("avx512vbmi",),
    "AVX512_VNNI": ("avx512_vnni",),
    "AVX512_BF16": ("avx512_bf16",),
}
AMX_SYMBOL = "ggml_backend_amx"


@dataclass(frozen=True)
class BuildInfo:
    """The llama.cpp build and the CPU it runs on."""

    version: str
    features: dict[str, bool]
    has_amx_kernels: bool
    cpu_flags: frozenset[str]

    def unsupported(self) -> list[str]:
        """Features compiled in that this CPU lacks (each one a crash waiting to happen)."""
        return [
            name
            for name, on in self.features.items()
            if on and name in FEATURE_FLAGS and not set(FEATURE_FLAGS[name]) <= self.cpu_flags
        ]

    def unused(self) -> list[str]:
        """Features this CPU has that the build leaves off (speed left on the table)."""
        return [
            name
            for name, flags in FEATURE_FLAGS.items()
            if set(flags) <= self.cpu_flags and not self.features.get(name, False)
        ]

    def enabled(self) -> list[str]:
        """The instruction-set features compiled in, in llama.cpp's order."""
        return [name for name, on in self.features.items() if on and name in FEATURE_FLAGS]


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The flags of the first CPU in /proc/cpuinfo (empty where there is none)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    return frozenset(match.group(1).split()) if match else frozenset()


def parse_system_info(text: str) -> dict[str, bool]:
    """`llama_print_system_info()` ("CPU : SSE3 = 1 | AVX = 1 | ...") as feature → on."""
    return {name: value == "1" for name, value in re.findall(r"([A-Z0-9_]+) = (\d)", text)}


def library_dir() -> Path | None:
    """The folder of llama-cpp-python's shared libraries, found without importing it."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "lib"


def has_amx_kernels(library: Path) -> bool:
    """True when ggml's AMX backend is compiled into `library` (libggml-cpu.so)."""
    nm = shutil.which("nm")
    if nm is not None:
        out = subprocess.run([nm, "-D", str(library)], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            return AMX_SYMBOL in out.stdout
    return AMX_SYMBOL.encode() in library.read_bytes()


def read_build() -> BuildInfo:
    """The installed llama.cpp build, read in a child process (loading it runs no kernel,
    but a broken library must not take the caller down either)."""
    probe = (
        "import llama_cpp; print(llama_cpp.__version__); "
        "print(llama_cpp.llama_print_system_info().decode())"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"llama-cpp-python does not load: {out.stderr.strip()[-300:]}")
    version, _, info = out.stdout.partition("\n")
    lib_dir = library_dir()
    libs = sorted(lib_dir.glob("libggml-cpu*.so*")) if lib_dir is not None else []
    return BuildInfo(
        version=version.strip(),
        features=parse_system_info(info),
        has_amx_kernels=any(has_amx_kernels(lib) for lib in libs),
        cpu_flags=cpu_flags(),
    )

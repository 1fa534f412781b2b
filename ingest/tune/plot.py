"""The loss curve of a tune run as a PNG, without a plotting library.

matplotlib is used when it is installed; otherwise a small rasteriser draws the same picture
(zlib + struct PNG): grey per-step training loss, its running mean in blue, the held-out
loss per epoch as red squares (the first at step 0, before training), axes with y ticks
labelled in a 3x5 pixel digit font. Several manifests (the stages of `make tune`, in order)
are drawn as one run, a grey line where a stage starts.

    python -m ingest.tune.plot data/adapters/smollm2-signalkb.stage1.json \
        data/adapters/smollm2-signalkb.stage2.json data/adapters/smollm2-signalkb.json \
        docs/images/tune-loss.png
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from pathlib import Path

W, H = 720, 360
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 32
GLYPHS = {  # 3x5 digits, rows top to bottom
    "0": ("111", "101", "101", "101", "111"),
    "1": ("010", "110", "010", "010", "111"),
    "2": ("111", "001", "111", "100", "111"),
    "3": ("111", "001", "111", "001", "111"),
    "4": ("101", "101", "111", "001", "001"),
    "5": ("111", "100", "111", "001", "111"),
    "6": ("111", "100", "111", "101", "111"),
    "7": ("111", "001", "010", "010", "010"),
    "8": ("111", "101", "111", "101", "111"),
    "9": ("111", "101", "111", "001", "111"),
    ".": ("000", "000", "000", "000", "010"),
}


def running_mean(values: list[float], window: int = 10) -> list[float]:
    """The mean of each value and the window-1 before it."""
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        out.append(sum(chunk) / len(chunk))
    return out


Points = list[tuple[int, float]]  # (step, held-out loss)


def plot_losses(
    losses: list[float], val: Points, path: Path, *, stages: list[int] | None = None
) -> Path:
    """Draw the curve to `path` (PNG); `stages` are the steps where a new stage starts."""
    try:
        return _matplotlib(losses, val, path, stages or [])
    except ImportError:
        return _raster(losses, val, path, stages or [])


def _val_points(val: list[float], per_epoch: int, n: int, offset: int = 0) -> Points:
    return [(offset + min(i * per_epoch, n), v) for i, v in enumerate(val)]


def _matplotlib(losses: list[float], val: Points, path: Path, stages: list[int]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = list(range(1, len(losses) + 1))
    fig, ax = plt.subplots(figsize=(7.2, 3.6), dpi=100)
    ax.plot(steps, losses, color="0.75", lw=0.8, label="train loss (per step)")
    ax.plot(steps, running_mean(losses), color="tab:blue", label="train loss (mean of 10)")
    for step in stages:
        ax.axvline(step, color="0.6", lw=0.8)
    ax.plot([s for s, _ in val], [v for _, v in val], "s", color="tab:red", label="held-out")
    ax.set_xlabel("step")
    ax.set_ylabel("answer-token loss")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _raster(losses: list[float], val: Points, path: Path, stages: list[int]) -> Path:
    pixels = bytearray(b"\xff" * (W * H * 3))

    def put(x: int, y: int, rgb: tuple[int, int, int]) -> None:
        if 0 <= x < W and 0 <= y < H:
            at = (y * W + x) * 3
            pixels[at : at + 3] = bytes(rgb)

    def line(x0: int, y0: int, x1: int, y1: int, rgb: tuple[int, int, int]) -> None:
        n = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in range(n + 1):
            put(round(x0 + (x1 - x0) * i / n), round(y0 + (y1 - y0) * i / n), rgb)

    def text(x: int, y: int, s: str, scale: int = 2) -> None:
        for ch in s:
            for row, bits in enumerate(GLYPHS.get(ch, GLYPHS["."])):
                for col, bit in enumerate(bits):
                    if bit == "1":
                        for dx in range(scale):
                            for dy in range(scale):
                                put(x + col * scale + dx, y + row * scale + dy, (0, 0, 0))
            x += 4 * scale

    values = losses + [v for _, v in val]
    lo, hi = min(values), max(values)
    lo, hi = (lo - 0.05 * (hi - lo + 1e-9)), (hi + 0.05 * (hi - lo + 1e-9))
    n = max(len(losses), 1)

    def xy(step: float, loss: float) -> tuple[int, int]:
        x = LEFT + (W - LEFT - RIGHT) * step / n
        y = TOP + (H - TOP - BOTTOM) * (hi - loss) / (hi - lo)
        return round(x), round(y)

    for k in range(5):  # y grid and labels
        value = lo + (hi - lo) * k / 4
        _, y = xy(0, value)
        line(LEFT, y, W - RIGHT, y, (230, 230, 230))
        text(4, y - 5, f"{value:.2f}")
    line(LEFT, TOP, LEFT, H - BOTTOM, (0, 0, 0))
    line(LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM, (0, 0, 0))
    for k in range(0, n + 1, max(1, n // 10)):  # x ticks, with the step number
        x, _ = xy(k, lo)
        line(x, H - BOTTOM, x, H - BOTTOM + 4, (0, 0, 0))
        text(x - 6, H - BOTTOM + 8, str(k))
    for step in stages:
        x, _ = xy(step, lo)
        line(x, TOP, x, H - BOTTOM, (150, 150, 150))
    for series, rgb in ((losses, (190, 190, 190)), (running_mean(losses), (31, 119, 180))):
        points = [xy(i + 1, v) for i, v in enumerate(series)]
        for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
            line(x0, y0, x1, y1, rgb)
            line(x0, y0 + 1, x1, y1 + 1, rgb)
    for step, value in val:
        x, y = xy(step, value)
        for dx in range(-4, 5):
            for dy in range(-4, 5):
                put(x + dx, y + dy, (214, 39, 40))
    raw = b"".join(b"\x00" + bytes(pixels[r * W * 3 : (r + 1) * W * 3]) for r in range(H))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return path


def plot_manifests(manifests: list[Path], png: Path) -> Path:
    """The curve of the runs the manifests (`ADAPTER.json`) record, one stage after another."""
    losses: list[float] = []
    val: Points = []
    stages: list[int] = []
    for manifest in manifests:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        if losses:
            stages.append(len(losses))
        run = list(data["losses"])
        per_epoch = data.get("steps_per_epoch") or len(run)
        val += _val_points(data.get("val_loss_per_epoch", []), per_epoch, len(run), len(losses))
        losses += run
    return plot_losses(losses, val, png, stages=stages)


if __name__ == "__main__":
    plot_manifests([Path(arg) for arg in sys.argv[1:-1]], Path(sys.argv[-1]))

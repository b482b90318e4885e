"""What every benchmark shares: the run's settings, a row of results, test photos, helpers."""

from __future__ import annotations

import io
import os
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1_000_000
MiB = 1024 * 1024
POSES = ("front", "side", "back", "portrait", "front_closeup", "side_left")
"""Filename stems of a character's six refs (the sandbox classifies by filename words)."""


@dataclass(frozen=True)
class Config:
    """Sizes and repeats of one run; ``quick`` keeps every row but shrinks the work."""

    quick: bool = False

    @property
    def photo_bytes(self) -> int:
        """Size of each of the six "8 MB photos" (weight and speed rows)."""
        return 1 * MB if self.quick else 8 * MB

    @property
    def photo_size(self) -> tuple[int, int]:
        return (1200, 900) if self.quick else (4000, 3000)

    @property
    def speed_photo_bytes(self) -> int:
        """Size of each ref of the critical-path rows (the 8 MB photos are measured too)."""
        return 1 * MB

    @property
    def speed_photo_size(self) -> tuple[int, int]:
        return (1200, 900)

    @property
    def memory_file_bytes(self) -> int:
        """Size of each of the six files of the memory row (10 MB, under the 10 MiB limit)."""
        return 2 * MB if self.quick else 10 * MB

    @property
    def memory_file_size(self) -> tuple[int, int]:
        return (1600, 1200) if self.quick else (4096, 3072)

    @property
    def repeats(self) -> int:
        """Repeats of a timed measurement (the median is kept)."""
        return 1 if self.quick else 5

    @property
    def import_repeats(self) -> int:
        return 3 if self.quick else 9

    @property
    def bulk_clock_speed(self) -> float:
        """How much faster than real time the bulk row's clocks run."""
        return 60.0 if self.quick else 20.0

    @property
    def rps_seconds(self) -> float:
        return 1.5 if self.quick else 6.0


@dataclass
class Row:
    """One line of the results table.

    Attributes:
        name: the row's name (see :data:`benchmarks.ROW_NAMES`).
        measure: what is measured, one line.
        value: the measured value, formatted.
        target: the target, e.g. ``"≤ 1.3"`` (``"report"`` for none).
        ok: whether the target is met; None when there is no target (or it errored).
        detail: the numbers behind the value, one line.
        notes: longer explanations for BENCHMARKS.md (what limits the row, how measured).
    """

    name: str
    measure: str
    value: str
    target: str
    ok: bool | None
    detail: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return "error" if self.value == "error" else "—"
        return "pass" if self.ok else "MISS"


class Context:
    """Run-wide resources: a temporary directory and the photos generated in it."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp(prefix="aurous-bench-"))
        self._photos: dict[tuple[str, int, int, int], list[Path]] = {}

    def photos(self, kind: str, count: int, target_bytes: int, size: tuple[int, int]) -> list[Path]:
        """``count`` noisy JPEG photos of about ``target_bytes`` each (made once per run)."""
        key = (kind, count, target_bytes, size[0] * 100_000 + size[1])
        if key not in self._photos:
            folder = self.tmp / f"{kind}-{target_bytes}"
            folder.mkdir(parents=True, exist_ok=True)
            self._photos[key] = make_photos(folder, count, target_bytes, size)
        return self._photos[key]

    def close(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def _noise(size: tuple[int, int], seed: int) -> Any:
    from PIL import Image

    w, h = size
    data = random.Random(seed).randbytes(w * h * 3)
    image = Image.frombytes("RGB", size, data)
    # a soft gradient under the noise, so the thumbnails are not pure grey
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    return Image.blend(image, gradient, 0.35)


def _jpeg(image: Any, quality: int) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def make_photos(
    folder: Path, count: int, target_bytes: int, size: tuple[int, int], limit: int = 10 * MiB
) -> list[Path]:
    """Write ``count`` noisy JPEGs of ``size`` px, each close to ``target_bytes``.

    Noise keeps JPEG from compressing, like a sharp phone photo. The quality is searched
    on the first photo and reused for the rest (the same noise statistics give the same
    size within a fraction of a percent). Never above ``limit`` (the API's 10 MiB).
    """
    first = _noise(size, 0)
    lo, hi, best = 5, 98, 75
    best_data = b""
    for _ in range(7):  # binary search on the quality
        quality = (lo + hi) // 2
        data = _jpeg(first, quality)
        if len(data) <= min(target_bytes, limit):
            best, best_data, lo = quality, data, quality + 1
        else:
            hi = quality - 1
        if lo > hi:
            break
    if not best_data:
        best_data = _jpeg(first, best)
    paths = []
    for i in range(count):
        path = folder / f"{POSES[i % len(POSES)]}_{i + 1}.jpg"
        data = best_data if i == 0 else _jpeg(_noise(size, i), best)
        while len(data) > limit:  # pragma: no cover - a different seed came out larger
            best -= 1
            data = _jpeg(_noise(size, i), best)
        path.write_bytes(data)
        paths.append(path)
    return paths


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def fmt_bytes(n: float) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    return f"{n / 1000:.0f} KB"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no Aurous settings, the repo importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUROUS_")}
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:200]


def summarize(values: Iterable[float]) -> str:
    vals = sorted(values)
    return ", ".join(f"{v:.3f}" for v in vals)

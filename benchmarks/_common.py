"""What every benchmark shares: the run's settings, a row of results, test photos, helpers."""

from __future__ import annotations

import math
import os
import resource
import shutil
import statistics
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

KB = 1_000
MB = 1_000_000
MiB = 1024 * 1024
POSES = ("front", "side", "back", "portrait", "front_closeup", "side_left")
"""Filename stems of a character's six refs (the sandbox classifies by filename words)."""

#: EXIF orientations of the six photos of a set (phones write 1, 6, 3 and 8).
ORIENTATIONS = (1, 6, 3, 8, 1, 6)


@dataclass(frozen=True)
class PhotoSet:
    """``count`` phone photos of about ``target_bytes`` each, stored at ``size`` px."""

    label: str  # how the rows name the set: "2 KB", "1 MB", "8 MB"
    target_bytes: int
    size: tuple[int, int]
    count: int = 6
    progressive: bool = True  # make the fifth photo progressive (it comes out ~12% smaller)


@dataclass(frozen=True)
class Config:
    """Sizes and repeats of one run; ``quick`` keeps every row but shrinks the work."""

    quick: bool = False

    @property
    def speed_sets(self) -> tuple[PhotoSet, ...]:
        """The photo sets of the end-to-end rows (quick: the large set is 2 MB, not 8 MB)."""
        if self.quick:
            large = PhotoSet("8 MB", 2 * MB, (2400, 1800))
        else:
            large = PhotoSet("8 MB", 8 * MB, (4032, 3024))
        return (PhotoSet("2 KB", 2 * KB, (48, 36)), PhotoSet("1 MB", 1 * MB, (2000, 1500)), large)

    @property
    def latencies_ms(self) -> tuple[float, ...]:
        """Latency the sandbox adds to every request, one end-to-end case each."""
        return (0.0, 100.0) if self.quick else (0.0, 20.0, 100.0, 250.0)

    @property
    def repeats(self) -> int:
        """Repetitions of each side-by-side case (interleaved: ours, peer, ours, peer, ...)."""
        return 1 if self.quick else 5

    @property
    def bucket_repeats(self) -> int:
        """Runs of each bucket row (each fills the bucket from full)."""
        return 1 if self.quick else 3

    @property
    def memory_set(self) -> PhotoSet:
        """The six files of the memory row (10 MB each, under the 10 MiB limit)."""
        if self.quick:
            return PhotoSet("2 MB", 2 * MB, (2400, 1800), progressive=False)
        return PhotoSet("10 MB", 10 * MB, (4032, 3024), progressive=False)

    @property
    def weight_set(self) -> PhotoSet:
        """The photos the notebook-weight row sends through the magic and the widget."""
        return self.speed_sets[-1]

    @property
    def import_repeats(self) -> int:
        return 3 if self.quick else 9

    @property
    def rps_seconds(self) -> float:
        """Length of one load run of the requests-per-second row."""
        return 1.0 if self.quick else 3.0

    @property
    def rps_rounds(self) -> int:
        """Load runs per server (interleaved: sandbox, bare, sandbox, bare, ...)."""
        return 1 if self.quick else 3


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
    """Run-wide resources: a temporary directory, the photos generated in it, and a journal of
    the run's own there (``$AUROUS_NB_JOURNAL`` for this process and its children), so that
    no run reuses another's uploads and the user's journal is never touched."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.tmp = Path(tempfile.mkdtemp(prefix="aurous-bench-"))
        self._photos: dict[PhotoSet, list[Path]] = {}
        self._journal_was = os.environ.get(JOURNAL_ENV)
        os.environ[JOURNAL_ENV] = str(self.tmp / "journal.sqlite3")

    def photos(self, spec: PhotoSet) -> list[Path]:
        """The phone photos of ``spec`` (made once per run, in :attr:`tmp`)."""
        if spec not in self._photos:
            folder = self.tmp / f"photos-{spec.target_bytes}-{spec.size[0]}x{spec.size[1]}"
            folder.mkdir(parents=True, exist_ok=True)
            self._photos[spec] = phone_photos(folder, spec)
        return self._photos[spec]

    def close(self) -> None:
        if self._journal_was is None:
            os.environ.pop(JOURNAL_ENV, None)
        else:
            os.environ[JOURNAL_ENV] = self._journal_was
        shutil.rmtree(self.tmp, ignore_errors=True)


def _phone_photo(path: Path, spec: PhotoSet, i: int, quality: int, texture: int) -> Path:
    from tests.support import photos

    return photos.phone_jpeg(
        path,
        size=spec.size,
        orientation=ORIENTATIONS[i % len(ORIENTATIONS)],
        gps=True,
        icc="p3" if i % 2 and spec.target_bytes > 100 * KB else None,  # as iPhones tag them
        progressive=spec.progressive and i == 4,  # as some cameras and web exports write
        quality=quality,
        texture=texture,
        exif_thumbnail=spec.target_bytes > 100 * KB,
        seed=i,
    )


def phone_photos(folder: Path, spec: PhotoSet, limit: int = 10 * MiB) -> list[Path]:
    """``spec.count`` JPEGs from the phone-photo factory (``tests/support/photos.py``).

    Each has EXIF (orientation 1, 6, 3 or 8, GPS, a thumbnail unless tiny), every other one a
    Display P3 profile (unless tiny), the fifth is progressive (unless ``spec`` says not).
    The JPEG quality that brings the first photo closest to ``spec.target_bytes`` (never
    above the API's 10 MiB) is used for all of them.
    """
    per_pixel = spec.target_bytes / (spec.size[0] * spec.size[1])
    texture = 12 if per_pixel < 0.4 else 44 if per_pixel < 0.75 else 50
    probe = folder / "probe.jpg"
    lo, hi, best = 40, 98, (math.inf, 90)
    while lo <= hi:  # bisect the quality on the first photo
        quality = (lo + hi) // 2
        size = _phone_photo(probe, spec, 0, quality, texture).stat().st_size
        if size <= limit:
            best = min(best, (abs(size - spec.target_bytes), quality))
        if size < spec.target_bytes:
            lo = quality + 1
        else:
            hi = quality - 1
    probe.unlink()
    paths = []
    for i in range(spec.count):
        path = folder / f"{POSES[i % len(POSES)]}_{i + 1}.jpg"
        _phone_photo(path, spec, i, int(best[1]), texture)
        if path.stat().st_size > limit:  # pragma: no cover - another seed came out larger
            _phone_photo(path, spec, i, int(best[1]) - 2, texture)
        paths.append(path)
    return paths


def describe(spec: PhotoSet) -> str:
    """What :func:`phone_photos` makes for ``spec``, in words."""
    extras = ["EXIF orientations 1/6/3/8", "GPS"]
    if spec.target_bytes > 100 * KB:
        extras += ["an EXIF thumbnail", "every other one Display P3"]
    if spec.progressive:
        extras.append("one progressive")
    return f"{spec.size[0]}×{spec.size[1]} px stored, " + ", ".join(extras)


def spread(values: Iterable[float]) -> tuple[float, float, float]:
    """(min, median, max)."""
    vals = sorted(values)
    return vals[0], statistics.median(vals), vals[-1]


def fmt_spread(values: Iterable[float], digits: int = 2) -> str:
    """``min / median / max`` with ``digits`` decimals."""
    return " / ".join(f"{v:.{digits}f}" for v in spread(values))


def cpu_seconds() -> float:
    """CPU time (user + system) of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fmt_bytes(n: float) -> str:
    """Decimal units, as the rows name their photo sets (``7.9 MB``, ``2.1 KB``)."""
    if abs(n) >= MB:
        return f"{n / MB:.1f} MB"
    if abs(n) >= 10 * KB:
        return f"{n / KB:.0f} KB"
    return f"{n / KB:.1f} KB"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


#: The journal's setting (``aurous_nb.flow.ENV_JOURNAL``): a run keeps its own journal.
JOURNAL_ENV = "AUROUS_NB_JOURNAL"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: no Aurous settings but the run's journal, the repo
    importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUROUS_")}
    if JOURNAL_ENV in os.environ:
        env[JOURNAL_ENV] = os.environ[JOURNAL_ENV]
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (repo, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:200]

"""The local half of a flow: every ref checked before any request, in parallel, and the same
image twice refused."""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Iterable

from ..errors import ImageCheckError
from ..images import CheckedImage, check_image
from ._ref import RefUpload

MAX_CHECK_WORKERS = 4
"""The most refs checked locally at the same time."""

Outcome = CheckedImage | ImageCheckError


def check_workers(n: int) -> int:
    """How many refs are checked at once: one per core, at most 4 (a 12-megapixel decode
    holds ~50 MB; see the memory benchmark)."""
    return max(1, min(n, os.cpu_count() or 2, MAX_CHECK_WORKERS))


def check_all(refs: list[RefUpload], *, downscale: bool) -> list[Outcome]:
    """The local check of each ref, in parallel, in the order of ``refs``.

    Pillow and hashlib release the GIL, so the checks of several photos overlap on several
    cores. At most :func:`check_workers` run at once, and the decoded pixels they hold are
    bounded too (see :mod:`aurous_nb.images`).
    """

    def one(ref: RefUpload) -> Outcome:
        try:
            return check_image(ref.source, name=ref.name, downscale=downscale)
        except ImageCheckError as exc:
            return exc

    workers = check_workers(len(refs))
    if workers == 1:
        return [one(ref) for ref in refs]
    with cf.ThreadPoolExecutor(workers, thread_name_prefix="aurous-check") as pool:
        return list(pool.map(one, refs))


def repeats(ref: RefUpload, image: CheckedImage, others: Iterable[RefUpload]) -> Outcome:
    """``image``, or the error for ``ref`` if a checked ref among ``others`` is the same
    file or the same bytes."""
    where = _real_path(ref.source)
    for other in others:
        if other is ref or other.image is None:
            continue
        if where is not None and where == _real_path(other.source):
            problem = f"the same file as {other.name} (ref {other.index + 1}), listed twice"
        elif image.digest and image.digest == other.image.digest:
            problem = (
                f"the same image as {other.name} (ref {other.index + 1}): identical bytes, "
                "so the image would be used twice"
            )
        else:
            continue
        return ImageCheckError(
            f"{ref.name}: {problem}", source=ref.name, value=other.name, fix="remove one of them"
        )
    return image


def _real_path(source: object) -> str | None:
    """The file a path source names, symlinks resolved; None for other sources."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        return os.path.realpath(os.path.expanduser(os.fspath(source)))
    except (OSError, ValueError):
        return None

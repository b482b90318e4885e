"""The local half of a flow: every ref checked before any request, in parallel, and the same
image twice refused.

The checks read headers only (see :mod:`aurous_nb.images`), so six 10 MB photos are checked in
about a millisecond each; the pixel decode (thumbnail, deep check) runs later, beside the
upload, when the flow asks for thumbnails.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Iterable

from ..errors import ImageCheckError
from ..images import CheckedImage, FixStyle, check_image
from ._ref import RefUpload

MAX_CHECK_WORKERS = 4
"""The most refs checked locally at the same time."""

Outcome = CheckedImage | ImageCheckError


def check_workers(n: int) -> int:
    """How many refs are checked (or decoded) at once: one per core, at most 4 (a 12-megapixel
    re-encode holds ~100 MB; see the memory benchmark)."""
    return max(1, min(n, os.cpu_count() or 2, MAX_CHECK_WORKERS))


def check_all(
    refs: list[RefUpload], *, downscale: bool, keep_metadata: bool, fix_style: FixStyle
) -> list[Outcome]:
    """The local check of each ref, in the order of ``refs``.

    A header check is so cheap that threads would cost more than they save; only when a ref
    needs a decode before any request (a downscale, a conversion, a JPEG without its end
    marker) do the checks run in parallel (Pillow releases the GIL), at most
    :func:`check_workers` at once, the decoded pixels they hold bounded too.
    """

    def one(ref: RefUpload) -> Outcome:
        try:
            return check_image(
                ref.source,
                name=ref.name,
                downscale=downscale,
                keep_metadata=keep_metadata,
                fix_style=fix_style,
            )
        except ImageCheckError as exc:
            return exc

    workers = check_workers(len(refs))
    if workers == 1 or not any(_may_decode(ref.source, downscale) for ref in refs):
        return [one(ref) for ref in refs]
    with cf.ThreadPoolExecutor(workers, thread_name_prefix="aurous-check") as pool:
        return list(pool.map(one, refs))


def decode_all(images: list[CheckedImage]) -> list[ImageCheckError | None]:
    """Make each image's thumbnail (the deep check), in parallel; the error of each, or None."""

    def one(image: CheckedImage) -> ImageCheckError | None:
        try:
            image.make_thumbnail()
        except ImageCheckError as exc:
            return exc
        return None

    workers = check_workers(len(images))
    if workers <= 1:
        return [one(image) for image in images]
    with cf.ThreadPoolExecutor(workers, thread_name_prefix="aurous-decode") as pool:
        return list(pool.map(one, images))


def repeats(ref: RefUpload, image: CheckedImage, others: Iterable[RefUpload]) -> Outcome:
    """``image``, or the error for ``ref`` if a checked ref among ``others`` is the same
    file or the same bytes. Each ref's resolved path is found once (``ref.where``)."""
    ref.where = _real_path(ref.source)
    for other in others:
        if other is ref or other.image is None:
            continue
        if ref.where is not None and ref.where == other.where:
            problem = f"the same file as {other.name} (ref {other.index + 1}), listed twice"
        elif image.same_bytes(other.image):
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


def _may_decode(source: object, downscale: bool) -> bool:
    """Whether checking ``source`` may decode pixels (worth a thread): a downscale, or
    anything but a path that does not name a HEIC/AVIF file."""
    if downscale or not isinstance(source, (str, os.PathLike)):
        return True
    suffix = os.path.splitext(os.fspath(source))[1].lower()
    return suffix in (".heic", ".heif", ".hif", ".avif")

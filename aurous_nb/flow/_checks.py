"""The local half of a flow: every ref checked before any request, the same image twice
refused, and the refs that failed summarized in one line.

A mixin of :class:`aurous_nb.flow.CharacterFlow`, kept apart so each module stays small.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import threading
from collections.abc import Sequence

from ..errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    FlowError,
    ImageCheckError,
    InsufficientCreditsError,
    InternalServerError,
    MissingScopeError,
    RateLimitError,
)
from ..images._check import CheckedImage, check_image
from ._ref import RefState, RefUpload

MAX_CHECK_WORKERS = 4
"""The most refs checked locally at the same time."""
RESUME_FIX = "run it again to resume (finished refs are kept)"
"""The fix of a failure that may pass on its own (5xx, 429, a dropped connection)."""


class FlowChecks:
    """The local checks of CharacterFlow (see there for the attributes)."""

    refs: list[RefUpload]
    downscale: bool
    _lock: threading.RLock

    # provided by CharacterFlow
    def _set_ref(self, ref: RefUpload, state: RefState, message: str | None = None) -> None:
        raise NotImplementedError  # pragma: no cover

    def _check_refs(self, refs: list[RefUpload]) -> None:
        """Check ``refs`` locally, in parallel; a ref repeating an earlier one fails.

        Pillow and hashlib release the GIL, so the checks of several photos overlap on
        several cores. At most :func:`check_workers` run at once, and the decoded pixels
        they hold are bounded too (``_decode.DECODE_BUDGET``).
        """
        if not refs:
            return

        def one(ref: RefUpload) -> CheckedImage | ImageCheckError:
            try:
                return check_image(ref.source, name=ref.name, downscale=self.downscale)
            except ImageCheckError as exc:
                return exc

        workers = check_workers(len(refs))
        if workers == 1:
            outcomes = [one(ref) for ref in refs]
        else:
            with cf.ThreadPoolExecutor(workers, thread_name_prefix="aurous-check") as pool:
                outcomes = list(pool.map(one, refs))
        pairs = sorted(zip(refs, outcomes, strict=True), key=lambda pair: pair[0].index)
        for ref, outcome in pairs:
            with self._lock:  # compare and keep as one step: refs are added from many threads
                if isinstance(outcome, CheckedImage):
                    outcome = self._repeats(ref, outcome) or outcome
                if isinstance(outcome, CheckedImage):
                    ref.image, ref.error, ref.notice = outcome, None, outcome.notice
                    ref.total_bytes = outcome.size
                else:
                    ref.image, ref.error = None, outcome
            if ref.image is not None:
                self._set_ref(ref, ref.resting_state(), ref.image.notice)
            else:
                self._set_ref(ref, "failed", ref.error_message)

    def _repeats(self, ref: RefUpload, image: CheckedImage) -> ImageCheckError | None:
        """The error for ``ref`` if another checked ref is the same file or the same bytes."""
        where = _real_path(ref.source)
        for other in self.refs:
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
                f"{ref.name}: {problem}",
                source=ref.name,
                value=other.name,
                fix="remove one of them",
            )
        return None


def check_workers(n: int) -> int:
    """How many refs are checked at once: one per core, at most 4 (a 12-megapixel decode
    holds ~50 MB; see the memory benchmark)."""
    return max(1, min(n, os.cpu_count() or 2, MAX_CHECK_WORKERS))


def _real_path(source: object) -> str | None:
    """The file a path source names, symlinks resolved; None for other sources."""
    if not isinstance(source, (str, os.PathLike)):
        return None
    try:
        return os.path.realpath(os.path.expanduser(os.fspath(source)))
    except (OSError, ValueError):
        return None


# ---- one line for the refs that failed ----------------------------------------------------------


def _line(text: object) -> str:
    return " ".join(str(text).split())


def fix_for(error: BaseException | None) -> str | None:
    """What to do about a ref's error, when the error itself does not say."""
    if isinstance(error, MissingScopeError):
        return "use a key with write or full scope"
    if isinstance(error, AuthenticationError):
        return "check the API key"
    if isinstance(error, InsufficientCreditsError):
        return "top up the team's credits"
    if isinstance(error, (RateLimitError, InternalServerError, APIConnectionError)):
        return RESUME_FIX
    return None


def _what_went_wrong(ref: RefUpload, alone: bool) -> str:
    """A ref's error without its name (and without the request id, which differs per ref)."""
    error = ref.error
    if error is None:
        return "not finished"
    if isinstance(error, ImageCheckError) and error.source:
        text, prefix = str(error), _line(error.source) + ": "
        return text[len(prefix) :] if text.startswith(prefix) else text
    if isinstance(error, APIStatusError) and not alone:
        head = f"{error.status} {error.code}" if error.code else str(error.status)
        param = f" (param={error.param})" if error.param is not None else ""
        return _line(f"{head}: {error.message}{param}")
    return ref.error_message or type(error).__name__


def failure_error(failed: Sequence[RefUpload], total: int, what: str) -> BaseException:
    """The one failed ref's own error, or a FlowError for several in one line.

    Refs that failed the same way are named together and the shared message is stated
    once: ``"3 of 3 refs failed: front.png, side.png, back.png: 401 invalid_api_key: … —
    check the API key"``.
    """
    if len(failed) == 1 and failed[0].error is not None:
        return failed[0].error
    groups: dict[str, list[RefUpload]] = {}
    for ref in failed:
        groups.setdefault(_what_went_wrong(ref, alone=False), []).append(ref)
    parts = []
    for shared, refs in groups.items():
        text = _what_went_wrong(refs[0], alone=True) if len(refs) == 1 else shared
        parts.append(f"{', '.join(r.name for r in refs)}: {text}")
    fixes = list(dict.fromkeys(f for f in (fix_for(r.error) for r in failed) if f))
    error = FlowError(
        f"{len(failed)} of {total} refs {what}: {'; '.join(parts)}",
        fix="; ".join(fixes) or None,
        errors=tuple(r.error for r in failed if r.error is not None),
    )
    error.__cause__ = failed[0].error
    return error


def raise_for(failed: Sequence[RefUpload], total: int, what: str) -> None:
    """Raise :func:`failure_error` if any ref failed."""
    if failed:
        raise failure_error(failed, total, what)

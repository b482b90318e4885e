"""The refs that failed, said in one line: each ref named once, a shared message once, and
what to do about it."""

from __future__ import annotations

from collections.abc import Sequence

from .._text import error_line, one_line
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
from ._ref import RefUpload

RESUME_FIX = "run it again to resume (finished refs are kept)"
"""The fix of a failure that may pass on its own (5xx, 429, a dropped connection)."""


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
        text, prefix = str(error), one_line(error.source) + ": "
        return text[len(prefix) :] if text.startswith(prefix) else text
    if isinstance(error, APIStatusError) and not alone:
        head = f"{error.status} {error.code}" if error.code else str(error.status)
        param = f" (param={error.param})" if error.param is not None else ""
        return one_line(f"{head}: {error.message}{param}")
    return error_line(error)


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

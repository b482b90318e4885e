"""Pieces shared by the magics: the one-line error and the argument parsing."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError


class AurousMagicError(Exception):
    """A failure of a magic, shown as one line without a traceback (``--debug`` shows it).

    Attributes:
        title: the word before the colon (usually the class of the underlying error).
    """

    def __init__(self, message: str, *, title: str = "AurousError") -> None:
        self.title = title
        super().__init__(" ".join(message.split()))

    def _render_traceback_(self) -> list[str]:
        # IPython and ipykernel call this instead of formatting a traceback.
        return [f"{self.title}: {self}"]


def parse_magic_args(magic: Callable[..., Any], line: str) -> Any:
    """Parse a magic's line with its ``magic_arguments`` parser (see :func:`split_args`).

    An option the magic does not have is named first ("unrecognized arguments: --bogus"),
    even when argparse would rather complain about a missing name.

    Raises:
        UsageError: unbalanced quotes or bad arguments (the parser never exits the kernel).
    """
    parser = magic.parser  # type: ignore[attr-defined]
    words = split_args(line)
    try:
        return parser.parse_args(words)
    except UsageError:
        known = parser._option_string_actions
        unknown = [
            w
            for w in words
            if w.startswith("-")
            and w[1:2] not in ("", *"0123456789.")
            and w.split("=", 1)[0] not in known
        ]
        if unknown:
            raise UsageError(
                f"unrecognized arguments: {' '.join(unknown)} — %{parser.prog}? lists the options"
            ) from None
        raise


def split_args(line: str) -> list[str]:
    """Split like a shell, but keep quotes inside a word: ``{d['key']}`` stays whole.

    A word entirely in quotes (``"Aurora the Adventurer"``) loses them.
    """
    lexer = shlex.shlex(line, posix=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        words = list(lexer)
    except ValueError as exc:
        raise UsageError(f"cannot read the arguments ({exc}); check the quotes") from None
    return [w[1:-1] if len(w) >= 2 and w[0] == w[-1] and w[0] in "\"'" else w for w in words]

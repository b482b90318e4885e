"""API-key handling for ``%aurous_key``: where the key comes from, its form, what a failure means.

The key is held in :class:`Secret` until it is handed to :class:`~aurous_nb.client.AurousClient`,
so a verbose traceback or a debugger never shows it.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from ..client import ENV_API_KEY, mask_key
from ..errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    MissingScopeError,
    PermissionDeniedError,
)
from ._common import AurousMagicError

DEFAULT_ENV = ENV_API_KEY
KEY_PROMPT = "Aurous API key (input is hidden): "
HOW_TO_SET = (
    f"set {DEFAULT_ENV} in the kernel's environment, run %aurous_key $VAR with a variable "
    "holding the key, or %aurous_key --sandbox to try the local sandbox"
)
SCOPE_FIX = "creating characters needs a key with write or full scope"


class Secret:
    """A string that never shows itself in ``repr``/``str`` (tracebacks, debuggers, logs)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself; pass it straight to the client and nowhere else."""
        return self._value

    @property
    def masked(self) -> str:
        """The first 14 characters and an ellipsis, as the vendor's dashboard shows it."""
        return mask_key(self._value)

    def scrub(self, text: str) -> str:
        """``text`` with every occurrence of the key replaced by its masked form."""
        return text.replace(self._value, self.masked) if self._value else text

    def __repr__(self) -> str:
        return "Secret(…)"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an API key is not picklable")


def describe_check_failure(exc: APIError, masked: str, base_url: str) -> str:
    """One line saying what a failed key check (``GET /v1/team``) means and what to do."""
    if isinstance(exc, AuthenticationError):
        code = exc.code or "unauthorized"
        if code == "revoked_api_key":
            return (
                f"the key {masked} was revoked ({exc.status} {code}) — create a new key on "
                "the Aurous dashboard"
            )
        if code == "missing_api_key":
            return f"the API saw no key ({exc.status} {code}) — {HOW_TO_SET}"
        return (
            f"the API rejected the key {masked} as invalid ({exc.status} {code}) at {base_url} "
            "— check the key on the dashboard, or --base-url if it belongs to another host"
        )
    if isinstance(exc, MissingScopeError):
        return (
            f"the key {masked} lacks the scope for this ({exc.status} missing_scope) — {SCOPE_FIX}"
        )
    if isinstance(exc, PermissionDeniedError):
        return f"the key {masked} may not read its team: {exc}"
    if isinstance(exc, APIConnectionError):
        return f"could not reach {base_url}: {exc} — check --base-url and the network"
    return f"checking the key against {base_url} failed: {exc}"


def stdin_available(shell: Any) -> bool:
    """Whether a password prompt can be answered (never True under nbclient or Voilà)."""
    kernel = getattr(shell, "kernel", None)
    if kernel is not None:
        return bool(getattr(kernel, "_allow_stdin", False))
    stdin = sys.stdin
    try:
        return stdin is not None and stdin.isatty()
    except (ValueError, OSError):  # closed or detached stdin
        return False


def ambient_key() -> tuple[Secret, str] | None:
    """The key found without asking: ``$AUROUS_API_KEY``, else Colab's secret of that name.

    Colab keeps secrets in its own store (the key icon in the side bar), read with
    ``google.colab.userdata``; it is only looked at inside Colab (``google.colab`` loaded).
    """
    value = os.environ.get(DEFAULT_ENV)
    if value and value.strip():
        return Secret(value.strip()), f"${DEFAULT_ENV}"
    if "google.colab" not in sys.modules:
        return None
    try:
        from google.colab import userdata

        secret = userdata.get(DEFAULT_ENV)
    except Exception as exc:  # SecretNotFoundError, NotebookAccessError, a timeout...
        if type(exc).__name__ != "SecretNotFoundError":
            print(
                f"Colab's secret {DEFAULT_ENV} could not be read ({type(exc).__name__}) — "
                "give this notebook access to it in the key panel",
                file=sys.stderr,
            )
        return None
    if not isinstance(secret, str) or not secret.strip():
        return None
    return Secret(secret.strip()), f"Colab's secret {DEFAULT_ENV}"


def read_key(
    shell: Any, arg: str | None, env: str | None, *, prompt: bool = False
) -> tuple[Secret, str]:
    """The key for ``%aurous_key [ARG] [--env NAME] [--prompt]`` and where it came from.

    ``ARG`` with ``$``/``{`` is expanded from the user namespace (the history keeps the
    unexpanded text); a literal key is accepted with a warning. With no argument the key is
    looked up in order: ``$AUROUS_API_KEY``, Colab's secret store, then a hidden prompt
    (``--prompt`` goes straight to the prompt).

    Raises:
        AurousMagicError: the variable is undefined, the environment variable unset, or no
            key was found and no prompt is possible.
    """
    if arg is not None:
        if "$" in arg or "{" in arg:
            return _expand(shell, arg), arg
        print(
            "warning: a key typed into the cell is now saved in the notebook and in IPython's "
            "history — rotate it if you share either; next time use %aurous_key (prompt) or "
            "%aurous_key $VAR",
            file=sys.stderr,
        )
        return Secret(arg.strip()), "the cell"
    if env is not None:
        value = os.environ.get(env)
        if value is None:
            raise AurousMagicError(
                f"environment variable {env} is not set — set it before starting the kernel, "
                "or run %aurous_key to be prompted",
                title="ConfigurationError",
            )
        return Secret(value.strip()), f"${env}"
    if not prompt:
        found = ambient_key()
        if found is not None:
            print(f"using {found[1]} (%aurous_key --prompt to type another key)")
            return found
    return _prompt(shell)


def _expand(shell: Any, arg: str) -> Secret:
    """``$VAR`` / ``{expr}`` from the user namespace, like IPython's expansion but strict."""
    from IPython.utils.text import DollarFormatter

    try:
        value = DollarFormatter().vformat(arg, (), dict(shell.user_ns))
    except NameError:
        raise AurousMagicError(
            f"{arg} is not defined in the notebook — assign the key to it first, or run "
            "%aurous_key to be prompted",
            title="ConfigurationError",
        ) from None
    except Exception as exc:  # an expression in {...} failed: name the error, not a value
        raise AurousMagicError(
            f"cannot expand {arg}: {type(exc).__name__}", title="ConfigurationError"
        ) from None
    return Secret(str(value).strip())


def _prompt(shell: Any) -> tuple[Secret, str]:
    from IPython.core.error import StdinNotImplementedError

    if stdin_available(shell):
        try:
            # looked up at call time: ipykernel swaps in its own getpass while a cell runs
            return Secret(getpass.getpass(KEY_PROMPT).strip()), "the prompt"
        except StdinNotImplementedError:
            pass  # the frontend cannot answer after all: fall through
        except EOFError:
            raise AurousMagicError("no key entered", title="ConfigurationError") from None
    raise AurousMagicError(
        f"no API key: ${DEFAULT_ENV} is not set, and this frontend cannot prompt for one (no "
        f"stdin: nbclient, Voilà, a script) — set {DEFAULT_ENV} in the kernel's environment "
        "or use %aurous_key $VAR",
        title="ConfigurationError",
    )

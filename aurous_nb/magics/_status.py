"""``%aurous_key --status``: the masked key, host, API version, team and credits."""

from __future__ import annotations

import os
from typing import Any

from .._text import plural
from ..errors import APIError
from ._key import DEFAULT_ENV, HOW_TO_SET


def status_lines(magics: Any) -> list[str]:
    """The lines ``--status`` prints for an :class:`~aurous_nb.magics.AurousMagics`.

    Asks the API for the team and the balance (two GETs); a failure of either is shown on
    its line instead of raising.
    """
    client = magics.client
    if client is None:
        lines = [f"no key set — run %aurous_key ({HOW_TO_SET})"]
        if os.environ.get(DEFAULT_ENV):
            lines.append(f"${DEFAULT_ENV} is set and will be used on first use")
        return lines
    host = client.base_url
    if magics.sandbox is not None:
        host += " (local sandbox started by %aurous_key --sandbox)"
    lines = [
        f"key:      {client.masked_key}  (from {magics.key_source})",
        f"base URL: {host}",
        f"version:  {client.version or 'account default'}",
    ]
    try:
        team = client.team()
        lines.append(f"team:     {team.name} ({team.id})")
    except APIError as exc:
        lines.append(f"team:     unavailable — {exc}")
    try:
        balance = client.balance()
        lines.append(
            f"credits:  {balance.available_credits:g} available "
            f"({balance.credits:g} total, {balance.held_credits:g} held)"
        )
    except APIError as exc:
        lines.append(f"credits:  unavailable — {exc}")
    lines.append(f"journal:  {journal_line(magics)}")
    return lines


def journal_line(magics: Any) -> str:
    """Where the journal is and how many live tickets it holds (or why it is off)."""
    from ..flow import ENV_JOURNAL, Journal

    if not getattr(magics, "journal", True):
        return "off (%config AurousMagics.journal = False)"
    book = Journal.default()
    if book.path is None:
        return f"off (${ENV_JOURNAL})"
    live = plural(book.live_tickets(), "live ticket")
    return book.warning or f"{book.path} ({live}; python -m aurous_nb journal lists it)"


def print_status(magics: Any) -> None:
    """Print :func:`status_lines`."""
    print("\n".join(status_lines(magics)))

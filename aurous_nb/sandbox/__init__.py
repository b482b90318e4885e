"""A local emulator of the Aurous Labs character API, for tests, demos and Binder.

``Sandbox().start()`` serves the API on 127.0.0.1; ``python -m aurous_nb.sandbox`` runs
it standalone; the ``aurous_sandbox`` pytest fixture gives one per test session.
Importing this package does not import werkzeug or Pillow.

It implements shared/API.md with §14 binding. Where even §14 left a choice, the sandbox
settled it as follows (each is pinned by a test in ``tests/sandbox/``):

- Idempotency keys are scoped per team (§5, §14 row 14): a key already used on another
  route -- another method or path, so also the same action on another character -- is
  ``409 idempotency_key_in_use``, like a key reused with another body.
- ``PATCH`` on an unknown/deleted/foreign character answers 404 with
  ``param: "character_id"`` (§9.7), the one non-``invalid_request`` error with a param.
- ``resynthesize`` and ``regenerate`` work in either flow (§14 row 18) but need attributes
  to draw from: ``attributes: null`` (an upload-flow create without them, or a PATCH to
  null) is ``400 invalid_request_error`` with ``param: "attributes"``; ``{}`` counts as
  attributes, as it does for a synthesize-flow create. A regenerated pose of an uploaded
  photo becomes a drawn PNG.
- ``GET /v1/balance`` says ``billing_mode: "metered"`` (option ``billing_mode="exempt"``);
  the mode changes nothing else (credits are charged either way).
- ``GET /v1/team`` and ``/v1/balance`` use the platform's generic GET class
  (``default_get``: 1200 burst, 600/min); a 401 shows a full bucket (no team known).
- Synthesize-flow create always answers ``synthesizing``; the end state shows on the next
  read once ``synth_seconds`` have passed on the sandbox clock (0 → the very next read).
  Credits are charged at dispatch and not refunded when a synthesis fails.
- ``refs[].url`` storage URLs: bad token → 403 ``signature_invalid``; older than 24 h →
  410 ``output_expired``; refs of deleted characters → 404.
- A soft-deleted character of the team is still a valid ``starting_after`` cursor.
- A signed PUT for a ticket the sandbox no longer knows (after ``reset()``) → 404.
- ``Idempotency-Key`` outside 1–256 chars → ``400 value_out_of_range``; an empty body
  and ``{}`` have the same fingerprint.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["RecordedRequest", "Sandbox", "SandboxClock"]

# Loaded on first use, so that pytest loading the plugin (aurous_nb.sandbox.pytest_plugin) in
# a project that never asks for the fixture costs nothing.
_LAZY = {"RecordedRequest": ".reqlog", "Sandbox": ".server", "SandboxClock": ".clock"}

if TYPE_CHECKING:  # pragma: no cover
    from .clock import SandboxClock
    from .reqlog import RecordedRequest
    from .server import Sandbox


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aurous_nb.sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

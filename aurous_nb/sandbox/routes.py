"""The route table: URL rules, each route's rate bucket, and the handler it calls.

Route names (``"init"``, ``"create"``, ...) are the ones :meth:`Sandbox.inject` and the
request log use. Handlers take the state and a :class:`Ctx` and return
``(status, body)``; they raise :class:`~aurous_nb.sandbox.errors.SandboxError` for errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map, Rule

from . import characters, uploads
from .clock import iso
from .state import SandboxState

URL_MAP = Map(
    [
        Rule("/v1/characters/uploads/init", endpoint="init", methods=["POST"]),
        Rule("/v1/characters/uploads/classify", endpoint="classify", methods=["POST"]),
        Rule("/v1/characters", endpoint="create", methods=["POST"]),
        Rule("/v1/characters", endpoint="list", methods=["GET"]),
        Rule("/v1/characters/<char_id>", endpoint="get", methods=["GET"]),
        Rule("/v1/characters/<char_id>", endpoint="patch", methods=["PATCH"]),
        Rule("/v1/characters/<char_id>", endpoint="delete", methods=["DELETE"]),
        Rule("/v1/characters/<char_id>/save", endpoint="save", methods=["POST"]),
        Rule("/v1/characters/<char_id>/resynthesize", endpoint="resynthesize", methods=["POST"]),
        Rule("/v1/characters/<char_id>/refs/regenerate", endpoint="regenerate", methods=["POST"]),
        Rule("/v1/team", endpoint="team", methods=["GET"]),
        Rule("/v1/balance", endpoint="balance", methods=["GET"]),
        Rule("/_upload/<upload_id>", endpoint="upload", methods=["PUT"]),
        Rule("/storage/<char_id>/<filename>", endpoint="storage", methods=["GET"]),
    ],
    strict_slashes=False,
    merge_slashes=False,
)

#: (method, path) -> route for the rules without variables: a dict lookup instead of the
#: matcher for most requests (anything else, trailing slashes included, goes to URL_MAP)
STATIC_ROUTES: dict[tuple[str, str], str] = {
    (method, rule.rule): str(rule.endpoint)
    for rule in URL_MAP.iter_rules()
    if not rule.arguments
    for method in rule.methods or ()
}

#: route -> rate bucket (create is decided per request, §14 row 15)
BUCKETS = {
    "init": "characters_post",
    "classify": "characters_post",
    "create": "characters_post",
    "patch": "characters_post",
    "save": "characters_post",
    "delete": "characters_post",
    "get": "characters_get",
    "list": "characters_get",
    "resynthesize": "characters_synthesize",
    "regenerate": "characters_synthesize",
    "team": "default_get",
    "balance": "default_get",
}


@dataclass
class Ctx:
    """What a handler gets: the team, the raw body and the URL pieces."""

    team_id: str
    raw: bytes
    args: Mapping[str, Any]
    query: dict[str, str]
    base_url: str
    version: str


Handler = Callable[[SandboxState, Ctx], "tuple[int, dict[str, Any]]"]

HANDLERS: dict[str, Handler] = {
    "init": lambda s, c: (200, uploads.init_upload(s, c.team_id, c.raw, c.base_url)),
    "classify": lambda s, c: (200, uploads.classify_upload(s, c.team_id, c.raw)),
    "create": lambda s, c: (201, characters.create(s, c.team_id, c.raw, c.base_url, c.version)),
    "get": lambda s, c: (200, characters.get(s, c.team_id, c.args["char_id"], c.base_url)),
    "list": lambda s, c: (200, characters.list_page(s, c.team_id, c.query, c.base_url)),
    "patch": lambda s, c: (
        200,
        characters.patch(s, c.team_id, c.args["char_id"], c.raw, c.base_url),
    ),
    "save": lambda s, c: (200, characters.save(s, c.team_id, c.args["char_id"], c.base_url)),
    "resynthesize": lambda s, c: (
        200,
        characters.resynthesize(s, c.team_id, c.args["char_id"], c.raw, c.base_url),
    ),
    "regenerate": lambda s, c: (
        200,
        characters.regenerate(s, c.team_id, c.args["char_id"], c.raw, c.base_url),
    ),
    "delete": lambda s, c: (200, characters.delete(s, c.team_id, c.args["char_id"])),
    "team": lambda s, c: (200, _team(s, c.team_id)),
    "balance": lambda s, c: (200, _balance(s, c.team_id)),
}


def _team(state: SandboxState, team_id: str) -> dict[str, Any]:
    with state.lock:
        team = state.teams[team_id]
        return {
            "id": team.id,
            "name": team.name,
            "credits": team.credits,
            "created_at": iso(team.created_at),
            "billing_email": team.billing_email,
        }


def _balance(state: SandboxState, team_id: str) -> dict[str, Any]:
    with state.lock:
        credits = state.teams[team_id].credits
        billing_mode = state.options.billing_mode
    return {
        "credits": credits,
        "held_credits": 0,
        "available_credits": credits,
        "currency": "credit",
        "billing_mode": billing_mode,
    }

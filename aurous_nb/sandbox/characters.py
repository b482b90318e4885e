"""The ``/v1/characters`` resource: create (both flows), get, list, patch, save,
resynthesize, regenerate, delete (API.md §9.4–9.11, §14 rows 9–21 and 32)."""

from __future__ import annotations

from typing import Any

from .classify import image_facts
from .clock import ulid
from .errors import SandboxError, bad
from .state import CharacterRecord, Pending, SandboxState, StoredRef
from .uploads import check_ticket_image, usable_ticket
from .validate import attributes, boolean, character_name, invalid_state, json_object, string

POSES = ("portrait", "front", "side", "back", "other")
SYNTH_POSES = ("portrait", "front", "side", "back")
SYNTH_COST = 4.0
REGENERATE_COST = 1.0
RESYNTH_COST = 4.0
MAX_REFS = 6
EDITABLE = ("name", "attributes")


def is_synthesize(raw: bytes) -> bool:
    """Whether a create body asks for the synthesize flow (picks the rate bucket, §14 row 15)."""
    try:
        return json_object(raw).get("generate") is True
    except SandboxError:
        return False


def create(
    state: SandboxState, team_id: str, raw: bytes, base_url: str, version: str
) -> dict[str, Any]:
    """``POST /v1/characters``. Atomic: any error leaves every ticket unconsumed."""
    body = json_object(raw)
    generate = boolean(body, "generate")
    upload_ids = body.get("upload_ids")
    if generate == (upload_ids is not None):
        raise bad(
            "parameter_invalid_combination",
            "Send exactly one of 'upload_ids' (upload flow) or 'generate': true (synthesize flow).",
        )
    name = character_name(body)
    client_ref = string(body, "client_reference_id", lo=1, hi=256, required=False)
    attrs = body.get("attributes")
    if generate and attrs is None:
        raise bad("missing_field", "The synthesize flow needs 'attributes'.", "attributes")
    attrs = None if attrs is None else attributes(attrs)
    assert name is not None
    if generate:
        return _create_synthesized(state, team_id, name, attrs or {}, client_ref, base_url, version)
    ids = _upload_id_list(upload_ids)
    with state.lock:  # warm the image-check cache without holding the lock while decoding
        blobs = [
            (t.data, t.digest)
            for t in (state.tickets.get(i) for i in ids)
            if t is not None and t.team_id == team_id and t.data is not None
        ]
    for data, digest in blobs:
        assert data is not None and digest is not None
        image_facts(data, digest)
    with state.lock:
        tickets, refs = [], []
        for i, uid in enumerate(ids):  # every check before any change: first error wins
            ticket = usable_ticket(state, team_id, uid, f"upload_ids[{i}]")
            check_ticket_image(state, ticket, f"upload_ids[{i}]")
            pose = ticket.classification[0] if ticket.classification else "other"
            tickets.append(ticket)
            refs.append(
                StoredRef("ref_" + ulid(state.now()), pose, ticket.content_type, ticket.data)
            )
        for ticket in tickets:
            ticket.consumed = True
            ticket.data = None  # bytes moved into character storage
        char = _new_record(state, team_id, name, "ready", "upload", version, attrs, client_ref)
        char.refs = refs
        return state.character_json(char, base_url)


def _upload_id_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise bad("invalid_format", "'upload_ids' must be an array of upload ids.", "upload_ids")
    if not 1 <= len(value) <= MAX_REFS:
        raise bad(
            "value_out_of_range",
            f"'upload_ids' must hold 1-{MAX_REFS} ids, got {len(value)}.",
            "upload_ids",
        )
    seen: set[str] = set()
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise bad("invalid_format", f"upload_ids[{i}] must be a string.", f"upload_ids[{i}]")
        if item in seen:
            raise bad("invalid_format", f"Duplicate upload id {item!r}.", f"upload_ids[{i}]")
        seen.add(item)
    return list(value)


def _new_record(
    state: SandboxState,
    team_id: str,
    name: str,
    status: str,
    flow: str,
    version: str,
    attrs: dict[str, Any] | None,
    client_ref: str | None,
) -> CharacterRecord:
    now = state.now()
    char = CharacterRecord(
        id="char_" + ulid(now),
        team_id=team_id,
        seq=state.next_seq(),
        name=name,
        status=status,
        created_at=now,
        updated_at=now,
        aurous_version=version,
        flow=flow,
        attributes=attrs,
        client_reference_id=client_ref,
    )
    state.add_character(char)
    return char


def _charge(state: SandboxState, team_id: str, cost: float, code: str) -> None:
    team = state.teams[team_id]
    if team.credits < cost:
        raise SandboxError(
            402,
            code,
            f"Team available balance is {team.credits:g} credits, this requires {cost:g}.",
            None,
        )
    team.credits -= cost


def _start_synthesis(
    state: SandboxState, char: CharacterRecord, poses: tuple[str, ...], replace_all: bool
) -> None:
    now = state.now()
    fail = state.rng.random() < state.options.synth_failure_rate
    char.pending = Pending(now + state.options.synth_seconds, fail, poses, replace_all)
    char.status = "synthesizing"
    char.error_message = None
    char.updated_at = now


def _create_synthesized(
    state: SandboxState,
    team_id: str,
    name: str,
    attrs: dict[str, Any],
    client_ref: str | None,
    base_url: str,
    version: str,
) -> dict[str, Any]:
    with state.lock:
        _charge(state, team_id, SYNTH_COST, "balance_too_low")
        char = _new_record(
            state, team_id, name, "synthesizing", "synthesize", version, attrs, client_ref
        )
        _start_synthesis(state, char, SYNTH_POSES, replace_all=True)
        return state.character_json(char, base_url)


def get(state: SandboxState, team_id: str, char_id: str, base_url: str) -> dict[str, Any]:
    with state.lock:
        return state.character_json(state.find_character(team_id, char_id), base_url)


def list_page(
    state: SandboxState, team_id: str, args: dict[str, str], base_url: str
) -> dict[str, Any]:
    """``GET /v1/characters``: newest first, cursor = id of the last item seen."""
    raw_limit = args.get("limit", "20")
    try:
        limit = int(raw_limit)
    except ValueError:
        raise bad(
            "invalid_format", f"limit must be an integer, got {raw_limit!r}.", "limit"
        ) from None
    if not 1 <= limit <= 100:
        raise bad("value_out_of_range", f"limit must be 1-100, got {limit}.", "limit")
    cursor = args.get("starting_after")
    with state.lock:
        after = None
        if cursor is not None:
            # A soft-deleted character of the team is still a valid position to page from.
            after = state.characters.get(cursor)
            if after is None or after.team_id != team_id:
                raise bad(
                    "invalid_format",
                    f"starting_after {cursor!r} is not a known character id.",
                    "starting_after",
                )
        page: list[CharacterRecord] = []
        has_more = False
        for char in state.team_characters(team_id, after):
            if char.status == "deleted":
                continue
            if len(page) == limit:
                has_more = True
                break
            page.append(char)
        for char in page:
            state.settle(char)
        return {
            "object": "list",
            "data": [state.character_json(c, base_url) for c in page],
            "has_more": has_more,
            "next_cursor": page[-1].id if has_more and page else None,
        }


def patch(
    state: SandboxState, team_id: str, char_id: str, raw: bytes, base_url: str
) -> dict[str, Any]:
    """``PATCH /v1/characters/{id}``: only ``name`` and ``attributes`` (replaced wholesale)."""
    with state.lock:
        char = state.find_character(team_id, char_id, param="character_id")
    body = json_object(raw, code="invalid_request")
    rejected = [k for k in body if k not in EDITABLE]
    if rejected:
        raise bad(
            "invalid_request",
            f"Only name and attributes can be changed; not: {', '.join(rejected)}.",
            rejected[0],
        )
    name = character_name(body, required=False, code="invalid_request")
    attrs = body.get("attributes")
    if attrs is not None:
        attrs = attributes(attrs, code="invalid_request")
    with state.lock:
        char = state.find_character(team_id, char_id, param="character_id")
        if name is not None:
            char.name = name
        if "attributes" in body:
            char.attributes = attrs
        char.updated_at = max(state.now(), char.updated_at)
        return state.character_json(char, base_url)


def save(state: SandboxState, team_id: str, char_id: str, base_url: str) -> dict[str, Any]:
    """``POST /v1/characters/{id}/save``: reviewing → ready; ready stays ready."""
    with state.lock:
        char = state.find_character(team_id, char_id)
        if char.status == "reviewing":
            char.status = "ready"
            char.updated_at = state.now()
        elif char.status != "ready":
            raise invalid_state(
                f"Character {char_id} is {char.status}; only reviewing can be saved."
            )
        return state.character_json(char, base_url)


def _check_resynthesizable(char: CharacterRecord, action: str) -> None:
    """§14 row 18: reviewing, ready or failed, in either flow, with attributes to draw from."""
    if char.status not in ("reviewing", "ready", "failed"):
        raise invalid_state(
            f"Character {char.id} is {char.status}; {action} needs reviewing, ready or failed."
        )
    if char.attributes is None:  # only an upload-flow create (or a PATCH to null) leaves none
        raise bad(
            "invalid_request_error",
            f"Character {char.id} has no attributes to {action} from; set them with "
            f"PATCH /v1/characters/{char.id} first.",
            "attributes",
        )


def resynthesize(
    state: SandboxState, team_id: str, char_id: str, raw: bytes, base_url: str
) -> dict[str, Any]:
    """``POST /v1/characters/{id}/resynthesize``: redraw all four poses (4 credits)."""
    body = json_object(raw, empty_ok=True)
    boolean(body, "force_all")
    with state.lock:
        char = state.find_character(team_id, char_id)
        _check_resynthesizable(char, "resynthesize")
        _charge(state, team_id, RESYNTH_COST, "insufficient_credits")
        _start_synthesis(state, char, SYNTH_POSES, replace_all=True)
        return state.character_json(char, base_url)


def regenerate(
    state: SandboxState, team_id: str, char_id: str, raw: bytes, base_url: str
) -> dict[str, Any]:
    """``POST /v1/characters/{id}/refs/regenerate``: redraw (or add) one pose (1 credit)."""
    body = json_object(raw)
    pose = body.get("pose")
    if pose is None:
        raise bad("missing_field", "Missing required field 'pose'.", "pose")
    if pose not in POSES:
        raise bad(
            "invalid_request_error", f"pose {pose!r} is not one of {', '.join(POSES)}.", "pose"
        )
    if body.get("prompt_override") is not None and not isinstance(body["prompt_override"], str):
        raise bad("invalid_format", "'prompt_override' must be a string.", "prompt_override")
    with state.lock:
        char = state.find_character(team_id, char_id)
        _check_resynthesizable(char, "regenerate")
        _charge(state, team_id, REGENERATE_COST, "insufficient_credits")
        _start_synthesis(state, char, (pose,), replace_all=False)
        return state.character_json(char, base_url)


def delete(state: SandboxState, team_id: str, char_id: str) -> dict[str, Any]:
    """``DELETE /v1/characters/{id}``: hard delete in reviewing, soft delete otherwise."""
    with state.lock:
        char = state.find_character(team_id, char_id)
        if char.status == "reviewing":
            state.remove_character(char)
        else:
            char.status = "deleted"
            char.pending = None
            char.updated_at = state.now()
        return {"id": char.id, "object": "character", "deleted": True}

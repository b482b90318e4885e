"""The error a sandbox handler raises, and the JSON envelope it becomes (API.md §3, §14).

``type`` follows from the HTTP status (§14 row 26); ``param`` is present (string or null)
on ``invalid_request`` errors and absent on the others (§14 row 27) unless a page says
otherwise (PATCH's 404 carries ``param: "character_id"``, §9.7).
"""

from __future__ import annotations

from typing import Any

DOC_URL = "https://docs.aurous-labs.com/errors#"

_UNSET: Any = object()


def error_type(status: int) -> str:
    """The envelope ``type`` for an HTTP status."""
    if status in (401, 403):
        return "authentication"
    if status in (404, 410):
        return "not_found"
    if status == 429:
        return "rate_limit"
    if status >= 500:
        return "server_error"
    return "invalid_request"


class SandboxError(Exception):
    """A non-2xx answer. Handlers raise it; the app turns it into the envelope.

    Args:
        status: HTTP status.
        code: Stable machine code, e.g. ``"upload_invalid"``.
        message: One human sentence naming the offending value.
        param: The offending field. Omit it to get ``null`` on ``invalid_request`` errors
            and no key at all on the others; pass a string to force it.
        headers: Extra response headers (e.g. ``Retry-After``).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = _UNSET,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = dict(headers or {})

    @property
    def type(self) -> str:
        return error_type(self.status)

    def body(self, request_id: str | None = None, *, doc_url: bool = True) -> dict[str, Any]:
        """The ``{"error": {...}}`` envelope."""
        err: dict[str, Any] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not _UNSET:
            err["param"] = self.param
        elif self.type == "invalid_request":
            err["param"] = None
        if doc_url:
            err["doc_url"] = DOC_URL + self.code
        if request_id is not None:
            err["request_id"] = request_id
        return {"error": err}


def bad(code: str, message: str, param: str | None = None) -> SandboxError:
    """A 400 ``invalid_request`` error (``param`` always present)."""
    return SandboxError(400, code, message, param)


def not_found(what: str, ident: object, param: str | None = _UNSET) -> SandboxError:
    """A 404 ``resource_not_found`` (unknown, soft-deleted or another team's id)."""
    return SandboxError(404, "resource_not_found", f"No such {what}: {ident!r}.", param)

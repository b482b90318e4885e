"""Every exception aurous_nb raises, and the mapping from an API error response to its class.

::

    AurousError(Exception)                     base of everything we raise
     ├── ConfigurationError                    missing/malformed API key, bad base_url, ...
     ├── ImageCheckError(ValueError)           a local check of a ref failed (images/)
     ├── ValidationError(ValueError)           a name/attribute the API would refuse (validate.py)
     ├── FlowError                             flow-level problem (0 or 7 refs, cancelled, ...)
     │    └── FlowCancelled
     ├── WaitTimeoutError(TimeoutError)        wait_for_character gave up (the character is fine)
     └── APIError                              anything from talking to the API
          ├── APIConnectionError               refused/reset/dropped/cut-short connection
          │    └── APITimeoutError             a read timed out, or the call's deadline passed
          ├── APIResponseValidationError       2xx whose body is not the JSON object expected
          └── APIStatusError                   non-2xx response (3xx: redirects are not followed)
               ├── BadRequestError 400
               │    ├── UploadInvalidError        upload_invalid
               │    ├── ParameterCombinationError parameter_invalid_combination
               │    └── UnknownVersionError       unknown_version
               ├── AuthenticationError 401
               ├── InsufficientCreditsError 402  insufficient_credits | balance_too_low
               ├── PermissionDeniedError 403
               │    ├── MissingScopeError         missing_scope
               │    ├── UploadURLExpiredError     upload_url_expired
               │    └── SignatureInvalidError     signature_invalid
               ├── NotFoundError 404, 410
               ├── ConflictError 409             idempotency_key_in_use, upload_consumed
               ├── PayloadTooLargeError 413
               ├── UnprocessableEntityError 422
               ├── RateLimitError 429            retry_after
               └── InternalServerError 5xx
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Mapping
from typing import Any

from ._text import body_text
from ._text import one_line as _one_line

__all__ = [
    "AurousError",
    "ConfigurationError",
    "ImageCheckError",
    "ValidationError",
    "FlowError",
    "FlowCancelled",
    "WaitTimeoutError",
    "APIError",
    "APIConnectionError",
    "APITimeoutError",
    "APIResponseValidationError",
    "APIStatusError",
    "BadRequestError",
    "UploadInvalidError",
    "ParameterCombinationError",
    "UnknownVersionError",
    "AuthenticationError",
    "InsufficientCreditsError",
    "PermissionDeniedError",
    "MissingScopeError",
    "UploadURLExpiredError",
    "SignatureInvalidError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "UnprocessableEntityError",
    "RateLimitError",
    "InternalServerError",
    "error_class_for",
    "get_header",
    "make_status_error",
    "parse_retry_after",
]


class AurousError(Exception):
    """Base class of every exception raised by aurous_nb."""


class ConfigurationError(AurousError):
    """The client cannot be built as asked (missing or malformed key, bad base URL, ...)."""


class ImageCheckError(AurousError, ValueError):
    """A local check of a reference image failed before any request was spent.

    Attributes:
        source: display name of the image (e.g. ``"front.heic"``), or None.
        value: the offending value (a size, a type, dimensions), or None.
        fix: what to do about it, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        value: object = None,
        fix: str | None = None,
    ) -> None:
        self.source = source
        self.value = value
        self.fix = fix
        self.message = _with_fix(message, fix, source=source)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


def _with_fix(message: str, fix: str | None, *, source: str | None = None) -> str:
    """One line: ``source: message — fix`` (each part only if not already there)."""
    text = _one_line(message)
    shown = _one_line(source) if source else ""
    if shown and not text.startswith(shown):
        text = f"{shown}: {text}"
    if fix and fix not in text:
        text = f"{text} — {fix}"
    return text


class ValidationError(AurousError, ValueError):
    """A character's name or attributes would be refused by the API; caught before any request.

    Attributes:
        field: the field, e.g. ``"name"`` or ``"attributes.age"``.
        value: the offending value.
        fix: what to do about it.
    """

    def __init__(self, message: str, *, field: str, value: object = None, fix: str = "") -> None:
        self.field = field
        self.value = value
        self.fix = fix
        self.message = _with_fix(message, fix)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class FlowError(AurousError):
    """A character flow cannot go on (no refs, too many refs, a ref failed, ...).

    Attributes:
        detail: what went wrong, one line, without the fix.
        fix: what to do about it, or None.
        errors: the errors of the refs that failed (empty when no ref did).
    """

    def __init__(
        self, message: str = "", *, fix: str | None = None, errors: tuple[BaseException, ...] = ()
    ) -> None:
        self.detail = _one_line(message)
        self.fix = fix
        self.errors = errors
        super().__init__(f"{self.detail} — {fix}" if fix else self.detail)


class FlowCancelled(FlowError):
    """The flow was cancelled (e.g. by KeyboardInterrupt); it can be run again."""


class WaitTimeoutError(AurousError, TimeoutError):
    """``wait_for_character`` ran out of time; the character itself may still finish."""


class APIError(AurousError):
    """Anything that went wrong while talking to the API.

    Attributes:
        message: one-line description.
        method: HTTP method of the request, if known.
        url: URL of the request without its query string, if known.
    """

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.message = _one_line(message)
        self.method = method
        self.url = url
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class APIConnectionError(APIError):
    """No usable response: connection refused, reset or dropped, or a body cut short."""


class APITimeoutError(APIConnectionError):
    """The request timed out: connecting, one read, or the whole call (its deadline)."""


class APIResponseValidationError(APIError):
    """A 2xx response whose body is not what the endpoint returns: not JSON, not a JSON
    object, or a known field of the wrong type. Not retried: the request was processed.

    Attributes:
        status: HTTP status code (2xx).
        request_id: ``req_...`` from the ``Aurous-Request-Id`` header, or None.
        field: the offending field as a path (``"status"``, ``"data[3].refs[0].pose"``), or
            None when the body as a whole is wrong.
        headers: the response headers.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        request_id: str | None = None,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status
        self.request_id = request_id
        self.field = field
        self.headers: Mapping[str, str] = headers if headers is not None else {}

    @property
    def status_code(self) -> int:
        """Alias of :attr:`status`."""
        return self.status

    def __str__(self) -> str:
        tail = f" (request_id={self.request_id})" if self.request_id else ""
        return _one_line(f"{self.message}{tail}")


class APIStatusError(APIError):
    """The API answered with a non-2xx status.

    Attributes:
        status: HTTP status code.
        type: error type from the envelope (``invalid_request``, ``rate_limit``, ...), or None.
        code: stable machine code (``upload_invalid``, ...), or None for a non-JSON body.
        message: human text from the server (one line).
        param: offending field, or None (absent and null are the same to us).
        request_id: ``req_...`` from the body or the ``Aurous-Request-Id`` header, or None.
        doc_url: link to the vendor's page for the code (opaque), or None.
        headers: the response headers.
        body: the decoded error envelope (``{}`` when the body was not JSON).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        doc_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.doc_url = doc_url
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.body: Mapping[str, Any] = body if body is not None else {}

    @property
    def status_code(self) -> int:
        """Alias of :attr:`status` (the name requests and httpx use)."""
        return self.status

    def __str__(self) -> str:
        head = f"{self.status} {self.code}" if self.code else str(self.status)
        extras = []
        if self.param is not None:
            extras.append(f"param={self.param}")
        if self.request_id:
            extras.append(f"request_id={self.request_id}")
        tail = f" ({', '.join(extras)})" if extras else ""
        return _one_line(f"{head}: {self.message}{tail}")  # code/param/id come from the server

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r})"
        )


class BadRequestError(APIStatusError):
    """400: the request is invalid; fix it, retrying will not help."""


class UploadInvalidError(BadRequestError):
    """400 ``upload_invalid``: the upload ticket is unknown, expired (24 h), not yet PUT,
    already consumed, or its bytes do not decode as the declared type."""


class ParameterCombinationError(BadRequestError):
    """400 ``parameter_invalid_combination`` (e.g. both or neither of upload_ids/generate)."""


class UnknownVersionError(BadRequestError):
    """400 ``unknown_version``: the ``Aurous-Version`` pin is not a known version."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing, unknown or revoked."""


class InsufficientCreditsError(APIStatusError):
    """402 ``insufficient_credits`` or ``balance_too_low``: top up the team's credits."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed."""


class MissingScopeError(PermissionDeniedError):
    """403 ``missing_scope``: the key's scope does not allow this call."""


class UploadURLExpiredError(PermissionDeniedError):
    """403 ``upload_url_expired``: the signed PUT URL is past its 15 minutes; mint a new one."""


class SignatureInvalidError(PermissionDeniedError):
    """403 ``signature_invalid``: the signed PUT URL was altered or forged."""


class NotFoundError(APIStatusError):
    """404/410: unknown, deleted or another team's resource."""


class ConflictError(APIStatusError):
    """409: ``idempotency_key_in_use`` or ``upload_consumed``."""


class PayloadTooLargeError(APIStatusError):
    """413: the body is too large (10 MiB per image on the upload host)."""


class UnprocessableEntityError(APIStatusError):
    """422: well-formed but unprocessable."""


class RateLimitError(APIStatusError):
    """429: the team's rate bucket is empty.

    Attributes:
        retry_after: seconds the server asked us to wait (``Retry-After``), or None.
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after: float | None = parse_retry_after(self.headers)


class InternalServerError(APIStatusError):
    """5xx: trouble on the server's side (or a proxy in front of it)."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: NotFoundError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

# Codes people catch by name. A code only picks its class when that class belongs to the
# response's status class, so an odd pairing falls back to the status class.
_BY_CODE: dict[str, type[APIStatusError]] = {
    "upload_invalid": UploadInvalidError,
    "parameter_invalid_combination": ParameterCombinationError,
    "unknown_version": UnknownVersionError,
    "insufficient_credits": InsufficientCreditsError,
    "balance_too_low": InsufficientCreditsError,
    "missing_scope": MissingScopeError,
    "upload_url_expired": UploadURLExpiredError,
    "signature_invalid": SignatureInvalidError,
}


def error_class_for(status: int, code: str | None = None) -> type[APIStatusError]:
    """Return the exception class for an HTTP status and an (optional) error code."""
    if status >= 500:
        base: type[APIStatusError] = InternalServerError
    else:
        base = _BY_STATUS.get(status, APIStatusError)
    special = _BY_CODE.get(code or "")
    if special is not None and issubclass(special, base):
        return special
    return base


def parse_retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not headers:
        return None
    raw = get_header(headers, "Retry-After")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:  # pragma: no cover - very old Pythons returned None
        return None
    return max(0.0, parsed.timestamp() - (time.time() if now is None else now))


def get_header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup in any mapping."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, val in headers.items():
        if key.lower() == lowered:
            return val
    return None


def _str_or_none(value: object) -> str | None:
    if value is None:
        return None
    return str(value)


def make_status_error(
    status: int,
    body: bytes | str | Mapping[str, Any] | None,
    headers: Mapping[str, str] | None = None,
    *,
    reason: str | None = None,
    method: str | None = None,
    url: str | None = None,
    detail: str | None = None,
) -> APIStatusError:
    """Build the exception for a non-2xx response.

    Tolerant of everything the server (or a proxy in front of it) may send: the documented
    envelope, ``param`` absent or null, unknown fields, a JSON body without ``error``, or a
    non-JSON body such as a proxy's HTML 502 page.

    Args:
        status: HTTP status code.
        body: raw body bytes/text, or an already decoded JSON object.
        headers: response headers (``Aurous-Request-Id`` fills a missing request id).
        reason: HTTP reason phrase, used when the body says nothing useful.
        method: request method, kept on the exception.
        url: request URL without query string, kept on the exception.
        detail: what is known about a body that could not be read (it undid its gzip, ...),
            said instead of describing the body.
    """
    headers = headers if headers is not None else {}
    decoded: Any = body
    snippet = ""
    if isinstance(body, (bytes, str)):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        try:
            decoded = json.loads(text) if text.strip() else None
        except ValueError:
            decoded = None
            snippet = body_text(text)
    envelope: Mapping[str, Any] = {}
    if isinstance(decoded, Mapping):
        inner = decoded.get("error")
        if isinstance(inner, Mapping):
            envelope = inner
        elif isinstance(inner, str):  # {"error": "text"} from some proxies
            envelope = {"message": inner}
        else:
            envelope = decoded

    code = _str_or_none(envelope.get("code"))
    message = _str_or_none(envelope.get("message"))
    if not message:
        what = reason or "error"
        message = f"HTTP {status} {what}"
        if detail:
            message += f": {detail}"
        elif snippet:
            page = snippet.startswith("HTML page: ")
            message += f" with an {snippet}" if page else f" with a non-JSON body: {snippet}"
        elif decoded is None:
            message += " with an empty body"
    request_id = _str_or_none(envelope.get("request_id")) or get_header(
        headers, "Aurous-Request-Id"
    )
    cls = error_class_for(status, code)
    return cls(
        message,
        status=status,
        type=_str_or_none(envelope.get("type")),
        code=code,
        param=_str_or_none(envelope.get("param")),
        request_id=request_id,
        doc_url=_str_or_none(envelope.get("doc_url")),
        headers=headers,
        body=dict(envelope),
        method=method,
        url=url,
    )

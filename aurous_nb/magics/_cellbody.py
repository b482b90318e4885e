"""The body of a ``%%aurous_character`` cell: reference images and ``key: value`` attributes.

Pure parsing (no IPython, no API): paths, globs, directories, ``~`` and ``{var}`` expansion,
http(s) URLs (downloaded later, by :mod:`._download`), ``#`` comments.

Real folders come with names that trip a parser: ``#`` starts a comment only after whitespace
(``take#2.jpg`` is a name), a line that fails as a glob because of ``[``/``]`` is tried as a
literal path (``front [1].jpg``), and an error about a missing file suggests quoting the line
when a ``#`` or a bracket may be to blame. A folder or glob says in one note what it skipped
(hidden files, macOS ``._`` AppleDouble files and ``.DS_Store``; anything that is not an image
is named); ``.jpe``, ``.jfif``, HEIC, AVIF and upper-case suffixes are images.
"""

from __future__ import annotations

import glob
import os
import re
import stat
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from ..images import IMAGE_SUFFIXES, printable_name

_MAC_JUNK = (".DS_Store", ".localized", "Thumbs.db", "desktop.ini", "Icon\r")

_ATTRIBUTE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:(.*)$")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")  # C:\refs\front.png is a path, not "C: ..."
_INTEGER = re.compile(r"^-?(0|[1-9][0-9]*)$")
_URL = re.compile(r"^https?://", re.IGNORECASE)
_GLOB_CHARS = frozenset("*?[")

RefKind = Literal["path", "url", "object"]


class CellBodyError(ValueError):
    """A line of the cell body cannot be used; ``str()`` is one line naming the line number."""

    def __init__(self, lineno: int | None, message: str) -> None:
        self.lineno = lineno
        self.message = message
        super().__init__(f"line {lineno}: {message}" if lineno else message)


@dataclass(frozen=True)
class RefSpec:
    """One reference image named by the cell body, not loaded yet.

    Attributes:
        lineno: 1-based line of the cell body it came from.
        kind: ``"path"`` (absolute path), ``"url"`` (http/https) or ``"object"`` (a value from
            the notebook: bytes, a PIL image, a binary file object).
        name: display filename, e.g. ``"front.png"``.
        value: the absolute path or URL as a string, or the object itself.
    """

    lineno: int
    kind: RefKind
    name: str
    value: Any = field(repr=False)

    @property
    def identity(self) -> str:
        """A string naming the same source across re-runs of the cell (used to resume)."""
        if self.kind == "object":
            return f"object:{id(self.value)}:{self.name}"
        return f"{self.kind}:{self.value}"

    def __repr__(self) -> str:
        shown = self.name if self.kind == "object" else self.value
        return f"RefSpec(line={self.lineno}, kind={self.kind!r}, {shown!r})"


@dataclass(frozen=True)
class CellBody:
    """The parsed body: reference images in order, character attributes, and notes.

    ``notes`` says, one line per folder or glob line, what was skipped and why.
    """

    refs: tuple[RefSpec, ...] = ()
    attributes: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def identity(self) -> tuple[str, ...]:
        """Identities of the refs in order (part of the key a flow is resumed by)."""
        return tuple(ref.identity for ref in self.refs)


class _NamespaceFormatter(string.Formatter):
    """``str.format`` against the user namespace; an unknown name is a one-line error."""

    def __init__(self, namespace: Mapping[str, Any], lineno: int) -> None:
        self.namespace = namespace
        self.lineno = lineno

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if isinstance(key, int) or key not in self.namespace:
            raise CellBodyError(
                self.lineno, f"{{{key}}} is not defined in the notebook (use {{{{ }}}} for a brace)"
            )
        return self.namespace[key]

    def expand(self, text: str) -> str:
        try:
            return self.vformat(text, (), {})
        except CellBodyError:
            raise
        except (ValueError, LookupError, AttributeError, TypeError) as exc:
            raise CellBodyError(self.lineno, f"cannot expand {text!r}: {exc}") from None

    def single_field(self, text: str) -> Any:
        """The value of ``text`` when it is exactly one ``{expr}`` field, else a sentinel."""
        try:
            parts = list(self.parse(text))
        except ValueError as exc:
            raise CellBodyError(self.lineno, f"cannot expand {text!r}: {exc}") from None
        if len(parts) != 1:
            return _NOT_SINGLE
        literal, field_name, spec, conversion = parts[0]
        if literal or field_name is None or spec or conversion:
            return _NOT_SINGLE
        try:
            value, _ = self.get_field(field_name, (), {})
        except CellBodyError:
            raise
        except (LookupError, AttributeError, TypeError) as exc:
            raise CellBodyError(self.lineno, f"cannot expand {text!r}: {exc}") from None
        return (field_name, value)


_NOT_SINGLE = object()


def parse_cell_body(
    text: str,
    namespace: Mapping[str, Any] | None = None,
    *,
    cwd: str | os.PathLike[str] | None = None,
) -> CellBody:
    """Parse a ``%%aurous_character`` cell body.

    One item per line: a path (``~`` expanded, relative to ``cwd``), a glob, a directory (its
    JPEG/PNG/WebP files), an http(s) URL, ``{var}`` naming a path, list of paths, bytes or a
    PIL image from the notebook, or a ``key: value`` attribute (``age: 28`` becomes an int).
    Blank lines and ``#`` comments (whole line, or after whitespace) are skipped. A line in
    quotes is one literal path (no glob, no comment stripping).

    Args:
        text: the cell body.
        namespace: where ``{var}`` is looked up (the notebook's user namespace).
        cwd: directory relative paths are resolved against (default: the current one).

    Returns:
        The refs in order and the attributes.

    Raises:
        CellBodyError: a line cannot be used; the message names the line and what to do.
    """
    ns: Mapping[str, Any] = namespace if namespace is not None else {}
    base = Path(cwd) if cwd is not None else Path.cwd()
    refs: list[RefSpec] = []
    attributes: dict[str, Any] = {}
    notes: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fmt = _NamespaceFormatter(ns, lineno)
        if line[0] in "\"'":
            refs.append(_literal_path(_unquote_line(line, lineno), base, lineno, fmt))
            continue
        whole, line = line, _strip_comment(line)
        match = _ATTRIBUTE.match(line)
        if match and not _URL.match(line) and not _DRIVE.match(line):
            key, value = match.group(1), match.group(2).strip()
            if not value:
                raise CellBodyError(lineno, f"attribute {key!r} has no value (write {key}: ...)")
            if key in attributes:
                raise CellBodyError(lineno, f"attribute {key!r} is given twice")
            attributes[key] = _attribute_value(fmt.expand(value))
            continue
        try:
            found, note = _refs_from_line(line, base, lineno, fmt)
        except CellBodyError as exc:
            raise _with_quoting_hint(exc, whole, line, base) from None
        refs.extend(found)
        if note:
            notes.append(f"line {lineno}: {note}")
    return CellBody(tuple(_unique_url_names(refs)), attributes, tuple(notes))


def _with_quoting_hint(exc: CellBodyError, whole: str, line: str, base: Path) -> CellBodyError:
    """``exc`` with a hint to quote the line, when a ``#`` or ``[``/``]`` may be to blame."""
    hints = []
    if whole != line:
        full = Path(os.path.expanduser(whole))
        exists = (full if full.is_absolute() else base / full).exists()
        where = f"{whole!r} exists — " if exists else ""
        hints.append(
            f"{where}a # after a space starts a comment: if it is part of the name, quote the "
            f'line: "{whole}"'
        )
    elif "[" in line or "]" in line:
        hints.append(
            f'[ and ] are glob brackets: if they are part of the name, quote the line: "{line}"'
        )
    if not hints or "quote" in exc.message:
        return exc
    return CellBodyError(exc.lineno, f"{exc.message}; {hints[0]}")


def _unique_url_names(refs: list[RefSpec]) -> list[RefSpec]:
    """URL refs without a name get ``image-<position>``; named alike (two ``.../img``), the
    later ones get ``img-2``, ``img-3``: a name tells them apart."""
    seen: dict[str, int] = {}
    out = []
    for index, spec in enumerate(refs):
        if spec.kind == "url" and not spec.name:
            spec = RefSpec(spec.lineno, spec.kind, f"image-{index + 1}", spec.value)
        key = spec.name.lower()
        seen[key] = seen.get(key, 0) + 1
        if spec.kind == "url" and seen[key] > 1:
            stem, dot, ext = spec.name.rpartition(".")
            name = f"{stem}-{seen[key]}.{ext}" if dot and stem else f"{spec.name}-{seen[key]}"
            spec = RefSpec(spec.lineno, spec.kind, name, spec.value)
        out.append(spec)
    return out


def _strip_comment(line: str) -> str:
    # "#" starts a comment only after whitespace, so URL fragments and "take#2.png" survive.
    match = re.search(r"\s#", line)
    return line[: match.start()].rstrip() if match else line


def _unquote_line(line: str, lineno: int) -> str:
    quote = line[0]
    end = line.find(quote, 1)
    if end < 0:
        raise CellBodyError(lineno, f"missing closing {quote} in {line!r}")
    rest = line[end + 1 :].strip()
    if rest and not rest.startswith("#"):
        raise CellBodyError(lineno, f"unexpected text after the quoted path: {rest!r}")
    return line[1:end]


def _attribute_value(value: str) -> Any:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    if _INTEGER.match(value):
        return int(value)
    return value


def _refs_from_line(
    line: str, base: Path, lineno: int, fmt: _NamespaceFormatter
) -> tuple[list[RefSpec], str | None]:
    """The refs a line names, and a note of what a folder or glob skipped (or None)."""
    single = fmt.single_field(line)
    if single is not _NOT_SINGLE:
        field_name, value = single
        return list(_refs_from_value(value, field_name, base, lineno)), None
    expanded = fmt.expand(line)
    if _URL.match(expanded):
        return [RefSpec(lineno, "url", _url_name(expanded, lineno), expanded)], None
    path = os.path.expanduser(expanded)
    if _GLOB_CHARS.intersection(path):
        pattern = path if os.path.isabs(path) else str(base / path)
        matches = sorted(glob.glob(pattern, recursive=True))
        files = [Path(p) for p in matches if os.path.isfile(p)]
        if not files:
            literal = Path(path) if os.path.isabs(path) else base / path
            if ("[" in path or "]" in path) and literal.exists():
                # "front [1].jpg": brackets that are part of a real name, not a glob class
                return _existing_path(Path(path), base, lineno, expanded)
            raise CellBodyError(
                lineno, f"no files match {expanded!r} (in {base}) — check the pattern and folder"
            )
        images, note = _sift(files)
        folders = len(matches) - len(files)
        if folders:
            note = "; ".join(filter(None, [note, _plural(folders, "folder") + " not searched"]))
        if not images:
            raise CellBodyError(
                lineno, f"{expanded!r} matches no images ({note}) — name the images to use"
            )
        return [_path_spec(p, lineno) for p in images], (
            f"{expanded}: skipped {note}" if note else None
        )
    return _existing_path(Path(path), base, lineno, expanded)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _is_hidden(name: str) -> bool:
    return name.startswith(".") or name in _MAC_JUNK


def _sift(files: list[Path]) -> tuple[list[Path], str]:
    """(the image files, a note naming what was skipped and why — "" when nothing was)."""
    images, hidden, apple, other = [], [], [], []
    for p in files:
        if p.name.startswith("._"):
            apple.append(p.name)  # macOS metadata for the file without the prefix
        elif _is_hidden(p.name):
            hidden.append(p.name)
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            images.append(p)
        else:
            other.append(printable_name(p.name))
    parts = []
    if apple:
        parts.append(f"{_plural(len(apple), 'macOS ._ file')} (AppleDouble metadata, not images)")
    if hidden:
        parts.append(f"{_plural(len(hidden), 'hidden file')} ({_names(hidden)})")
    if other:
        parts.append(f"{_names(other)} (not JPEG, PNG, WebP, HEIC or AVIF)")
    return images, "; ".join(parts)


def _names(names: list[str], most: int = 4) -> str:
    shown = ", ".join(printable_name(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _refs_from_value(value: Any, label: str, base: Path, lineno: int) -> Iterable[RefSpec]:
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, bytes):
            text = os.fsdecode(text)
        if _URL.match(text):
            yield RefSpec(lineno, "url", _url_name(text, lineno), text)
        else:
            yield from _existing_path(Path(os.path.expanduser(text)), base, lineno, text)[0]
    elif isinstance(value, (list, tuple)):
        if not value:
            raise CellBodyError(lineno, f"{{{label}}} is an empty {type(value).__name__}")
        for i, item in enumerate(value):
            yield from _refs_from_value(item, f"{label}[{i}]", base, lineno)
    elif isinstance(value, (bytes, bytearray, memoryview)) or _is_image_like(value):
        yield RefSpec(lineno, "object", _object_name(value, label), value)
    else:
        raise CellBodyError(
            lineno,
            f"{{{label}}} is a {type(value).__name__}; expected a path, URL, bytes, "
            "a PIL image or a list of those",
        )


def _is_image_like(value: Any) -> bool:
    # A PIL image or a readable binary file object, without importing PIL here.
    return (hasattr(value, "save") and hasattr(value, "size")) or hasattr(value, "read")


def _object_name(value: Any, label: str) -> str:
    filename = getattr(value, "filename", None) or getattr(value, "name", None)
    if isinstance(filename, str) and filename:
        return os.path.basename(filename)
    return label


def _literal_path(text: str, base: Path, lineno: int, fmt: _NamespaceFormatter) -> RefSpec:
    expanded = fmt.expand(text)
    path = Path(os.path.expanduser(expanded))
    try:
        is_dir = (path if path.is_absolute() else base / path).is_dir()
    except OSError:  # e.g. a name too long for the file system: _existing_path says so
        is_dir = False
    if is_dir:
        raise CellBodyError(
            lineno, f"{expanded!r} is a directory; a quoted line names one file — name a file in it"
        )
    return _existing_path(path, base, lineno, expanded)[0][0]


def _existing_path(
    path: Path, base: Path, lineno: int, shown: str
) -> tuple[list[RefSpec], str | None]:
    full = path if path.is_absolute() else base / path
    try:
        mode = full.stat().st_mode
    except FileNotFoundError:
        if full.is_symlink():
            raise CellBodyError(
                lineno,
                f"{shown!r} is a broken symlink (to {os.readlink(full)!r}) — point it at an image",
            ) from None
        where = "" if path.is_absolute() else f" (relative to {base})"
        raise CellBodyError(lineno, f"no such file: {shown!r}{where} — check the path") from None
    except OSError as exc:  # name too long, not a directory, permission denied, a loop...
        raise CellBodyError(
            lineno, f"cannot use {shown!r}: {exc.strerror or exc} — check the path"
        ) from None
    if stat.S_ISDIR(mode):
        try:
            files = sorted(p for p in full.iterdir() if p.is_file())
        except OSError as exc:
            raise CellBodyError(
                lineno, f"cannot list directory {shown!r}: {exc.strerror or exc} — check it"
            ) from None
        images, note = _sift(files)
        if not images:
            found = f" ({note})" if note else ""
            raise CellBodyError(
                lineno,
                f"directory {shown!r} has no JPEG, PNG, WebP, HEIC or AVIF files{found} — add "
                "images or name files",
            )
        return [_path_spec(p, lineno) for p in images], (
            f"{shown}: skipped {note}" if note else None
        )
    if not stat.S_ISREG(mode):  # a FIFO would block the kernel when read
        raise CellBodyError(
            lineno, f"{shown!r} is not a regular file (a pipe, socket or device) — name an image"
        )
    return [_path_spec(full, lineno)], None


def _path_spec(path: Path, lineno: int) -> RefSpec:
    return RefSpec(lineno, "path", printable_name(path.name), str(path.resolve()))


def _url_name(url: str, lineno: int) -> str:
    """The name of a URL's image: its last path segment when it has a letter in it
    (``.../photos/front.jpg`` → ``front.jpg``), else ``""`` (a site root, ``/800/600``), which
    :func:`_unique_url_names` turns into ``image-<position>``."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise CellBodyError(lineno, f"URL has no host: {url!r}")
    segment = unquote(parts.path.rstrip("/").rsplit("/", 1)[-1]).strip()
    return printable_name(segment) if any(ch.isalpha() for ch in segment) else ""

"""The browser code as one ES module: joins ``static/*.js`` and the modules they import.

anywidget imports a widget's ``_esm`` from a blob URL, where ``import ... from "./cards.js"``
has nothing to resolve against. The modules stay separate files (Node's test runner imports
them as they are) and are joined here, in Python, when a widget class is defined: each imported
module becomes a function scope whose exports are returned as an object, and each ``import``
line becomes a destructuring of that object. No build step, no generated file to keep current,
no ``data:`` URLs (which some front ends' content security policies refuse). Comment lines
and JSDoc blocks are left out of the joined module: it travels in every widget's state, and a
notebook saved with widget state carries it once per widget.

Only the module syntax the static files use is understood, and anything else is refused by a
:class:`ValueError` when the package is imported (``tests/widgets/test_esm.py`` runs the
result): ``import { a, b as c } from "./x.js";`` and ``import * as x from "./x.js";`` at the
start of a line; ``export function|async function|class|const|let NAME`` and ``export { a, b }``
(``export default`` only in the entry module).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

__all__ = ["bundle", "module_graph"]

STATIC = Path(__file__).resolve().parent / "static"

_IMPORT = re.compile(
    r'^import\s+(?:\{(?P<names>[^}]*)\}|\*\s+as\s+(?P<star>\w+))\s+from\s+"(?P<path>\./[\w-]+\.js)";'
    r"[ \t]*$",
    re.MULTILINE,
)
_ANY_IMPORT = re.compile(r"^import\b", re.MULTILINE)
_EXPORT_DECL = re.compile(
    r"^export\s+(?P<kind>async\s+function\*?|function\*?|class|const|let)\s+(?P<name>\w+)",
    re.MULTILINE,
)
_EXPORT_LIST = re.compile(r"^export\s*\{(?P<names>[^}]*)\}\s*;?[ \t]*$", re.MULTILINE)
_EXPORT_DEFAULT = re.compile(r"^export\s+default\b", re.MULTILINE)
_ANY_EXPORT = re.compile(r"^export\b", re.MULTILINE)
# whole lines that are only a // comment, and /** ... */ blocks starting a line
_COMMENT_LINE = re.compile(r"^[ \t]*//[^\n]*\n", re.MULTILINE)
_DOC_BLOCK = re.compile(r"^[ \t]*/\*\*.*?\*/[ \t]*\n", re.MULTILINE | re.DOTALL)


def _strip_comments(source: str) -> str:
    """``source`` without its comment lines and JSDoc blocks (code and strings untouched)."""
    return _COMMENT_LINE.sub("", _DOC_BLOCK.sub("", source))


def _names(text: str) -> list[tuple[str, str]]:
    """``"a, b as c"`` -> ``[("a", "a"), ("b", "c")]`` (imported name, local name)."""
    out = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, alias = (p.strip() for p in item.partition(" as "))
        if not re.fullmatch(r"\w+", name) or (alias and not re.fullmatch(r"\w+", alias)):
            raise ValueError(f"unsupported import/export item {item!r}")
        out.append((name, alias or name))
    return out


def _var(path: str) -> str:
    return "__aurous_" + re.sub(r"\W", "_", Path(path).stem)


def _imports(source: str, where: str) -> tuple[str, list[str]]:
    """Rewrite the import lines of ``source``; return it and the modules it imports."""
    deps: list[str] = []

    def rewrite(m: re.Match[str]) -> str:
        deps.append(m["path"])
        if m["star"]:
            return f"const {m['star']} = {_var(m['path'])};"
        items = ", ".join(n if n == a else f"{n}: {a}" for n, a in _names(m["names"]))
        return f"const {{ {items} }} = {_var(m['path'])};"

    out = _IMPORT.sub(rewrite, source)
    if _ANY_IMPORT.search(out):
        line = _ANY_IMPORT.search(out)
        assert line is not None
        bad = out[line.start() : out.find("\n", line.start())]
        raise ValueError(f"{where}: unsupported import {bad!r}")
    return out, deps


def _as_scope(source: str, where: str) -> str:
    """A dependency's source as ``const __aurous_x = (() => { ...; return {...}; })();``."""
    if _EXPORT_DEFAULT.search(source):
        raise ValueError(f"{where}: export default is only allowed in the entry module")
    exported = [m["name"] for m in _EXPORT_DECL.finditer(source)]
    body = _EXPORT_DECL.sub(lambda m: f"{m['kind']} {m['name']}", source)
    for m in _EXPORT_LIST.finditer(body):
        exported.extend(a for _, a in _names(m["names"]))
    body = _EXPORT_LIST.sub("", body)
    if _ANY_EXPORT.search(body):
        raise ValueError(f"{where}: unsupported export syntax")
    returned = ", ".join(exported)
    head = f"// ---- {where}\nconst {_var(where)} = (() => {{\n"
    return f"{head}{body}\nreturn {{ {returned} }};\n}})();\n"


def module_graph(entry: str, static: Path = STATIC) -> list[str]:
    """The modules ``entry`` needs, dependencies first, ``entry`` last.

    Raises:
        ValueError: an import cycle, or syntax the joiner does not understand.
    """
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order:
            return
        if name in visiting:
            raise ValueError(f"import cycle through {name}")
        visiting.add(name)
        _, deps = _imports((static / name).read_text("utf-8"), name)
        for dep in deps:
            visit(dep.removeprefix("./"))
        visiting.discard(name)
        order.append(name)

    visit(entry)
    return order


@cache
def bundle(entry: str, static: Path = STATIC) -> str:
    """``static/entry`` and everything it imports, as one ES module (cached per process)."""
    parts = ["// aurous_nb: static/*.js joined by aurous_nb/widgets/_esm.py; edit those files.\n"]
    for name in module_graph(entry, static):
        source, _ = _imports(_strip_comments((static / name).read_text("utf-8")), name)
        parts.append(source if name == entry else _as_scope(source, name))
    return "\n".join(parts)

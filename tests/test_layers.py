"""The package's layers, read from its imports with ``ast``: arrows point one way.

    __main__, __init__                 entry points: may use everything
    magics                             %aurous_key, %%aurous_character (shows the uploader)
    widgets                            CharacterUploader, SynthesisReview
    display                            HTML and text renderings
    flow, _session                     the engine; the session's current client
    client, images                     HTTP; local image facts (neither uses the other)
    models, validate                   what the API returns; what it accepts
    errors, limits                     the exception tree; the API's limits
    _text, _version                    formatters; the version
    sandbox, samples                   apart: import nothing from the rest

A module may import from its own folder and from any lower layer, never from a higher one or
from a peer. Across folders it imports a folder's public names (``from ..images import x``),
never a private module (``from ..images._decode import x``). Imports only for type checkers
count too. The exceptions below are lazy (inside a function) and each says why.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aurous_nb"

LAYERS: dict[str, int] = {
    "__main__": 9,
    "__init__": 9,
    "magics": 8,
    "widgets": 7,
    "display": 6,
    "flow": 5,
    "_session": 5,
    "client": 4,
    "images": 4,
    "models": 3,
    "validate": 3,
    "errors": 2,
    "limits": 2,
    "_text": 1,
    "_version": 1,
}
APART = {"sandbox", "samples"}

# (importer, imported, why) -- every one is a lazy import inside a function
EXCEPTIONS = {
    (
        "client",
        "flow",
        "AurousClient.create_character_from_files() is a convenience entry point that runs "
        "a CharacterFlow; the client works without ever loading the flow",
    ),
    (
        "models",
        "display",
        "Character._repr_html_() renders through display, so a character shows as a card in a "
        "notebook; the models do not need display otherwise",
    ),
}


@dataclass(frozen=True)
class Import:
    module: str  # dotted, e.g. "aurous_nb.flow._flow"
    target: str  # dotted, e.g. "aurous_nb.images._decode"
    names: tuple[str, ...]
    line: int
    lazy: bool  # inside a function


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text("utf-8"))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.ImportFrom):
                if child.level:
                    base = module.split(".")
                    if not is_package:
                        base = base[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                names = tuple(a.name for a in child.names)
                if target.startswith("aurous_nb"):
                    found.append(Import(module, target, names, child.lineno, inner))
            elif isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.startswith("aurous_nb"):
                        found.append(Import(module, alias.name, (), child.lineno, inner))
            visit(child, inner)

    visit(tree, False)
    return found


def _unit(dotted: str) -> str:
    """The layer unit of a module: its top-level folder or module under aurous_nb."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _all_imports() -> list[Import]:
    return [imp for mod, path in _modules().items() for imp in _imports(mod, path)]


def _resolved_targets(imp: Import, modules: dict[str, Path]) -> list[str]:
    """The modules an import loads: ``from aurous_nb import _text`` loads ``aurous_nb._text``
    (a name that is not a submodule comes from the package itself)."""
    subs = [f"{imp.target}.{n}" for n in imp.names if f"{imp.target}.{n}" in modules]
    plain = [n for n in imp.names if f"{imp.target}.{n}" not in modules]
    return subs + ([imp.target] if plain or not imp.names else [])


def test_every_unit_has_a_layer() -> None:
    units = {_unit(m) for m in _modules()}
    assert units - set(LAYERS) - APART == set(), "give the new module or folder a layer"


def test_imports_point_down() -> None:
    modules = _modules()
    allowed = {(a, b) for a, b, _why in EXCEPTIONS}
    used: set[tuple[str, str]] = set()
    wrong = []
    for imp in _all_imports():
        src = _unit(imp.module)
        for target in _resolved_targets(imp, modules):
            dst = _unit(target)
            if dst == src:
                continue
            if src in APART or dst in APART:
                if src in APART and dst not in (src,):
                    wrong.append(f"{imp.module}:{imp.line} ({src}, apart) imports {target}")
                continue
            if src in ("__main__", "__init__"):
                continue
            if LAYERS[dst] < LAYERS[src]:
                continue
            if (src, dst) in allowed and imp.lazy:
                used.add((src, dst))
                continue
            what = "a peer" if LAYERS[dst] == LAYERS[src] else "a higher layer"
            wrong.append(f"{imp.module}:{imp.line} ({src}) imports {target} ({dst}, {what})")
    assert wrong == [], "\n".join(wrong)
    assert used == allowed, f"exceptions no longer needed: {allowed - used}"


def test_across_folders_only_public_names() -> None:
    wrong = []
    for imp in _all_imports():
        src, dst = _unit(imp.module), _unit(imp.target)
        if src == dst or src in APART:
            continue
        private = [p for p in imp.target.split(".")[2:] if p.startswith("_")]
        if private:
            wrong.append(f"{imp.module}:{imp.line} imports the private {imp.target}")
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize(
    ("src", "dst"),
    [("widgets", "magics"), ("flow", "widgets"), ("images", "client"), ("client", "images")],
)
def test_forbidden_arrows_are_absent(src: str, dst: str) -> None:
    """The arrows the layering exists to forbid, spelled out (also lazy ones)."""
    found = [i for i in _all_imports() if _unit(i.module) == src and _unit(i.target) == dst]
    assert found == []


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The reader itself works: a flow module importing the widgets is seen as such."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ..widgets import CharacterUploader\n")
    (imp,) = _imports("aurous_nb.flow.bad", bad)
    assert (imp.target, imp.lazy, _unit(imp.target)) == ("aurous_nb.widgets", True, "widgets")
    assert LAYERS[_unit(imp.target)] > LAYERS[_unit(imp.module)]

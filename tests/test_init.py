"""The package's public surface: every exported name resolves, and importing stays light."""

from __future__ import annotations

import subprocess
import sys

import aurous_nb


def test_every_public_name_resolves() -> None:
    for name in aurous_nb.__all__:
        assert getattr(aurous_nb, name) is not None, name
    lazy = set(aurous_nb.__all__) - {
        "__version__",
        "load_ipython_extension",
        "unload_ipython_extension",
    }
    assert lazy == set(aurous_nb._LAZY)


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        aurous_nb.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("expected AttributeError")


def test_import_loads_no_heavy_module() -> None:
    code = (
        "import sys, aurous_nb\n"
        "heavy = [m for m in ('PIL', 'werkzeug', 'ipywidgets', 'requests', 'IPython')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""

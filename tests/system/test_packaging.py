"""The built artifacts, as a packager and a new user meet them: the sdist runs its own tests,
the wheel installs into a fresh venv and the demo runs from outside the repository, the
licence is in both, and the PyPI page's links resolve."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

from aurous_nb import __version__
from tests.support.environ import child_env

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, cwd: Path | None = None, timeout: float = 300) -> str:
    env = {k: v for k, v in child_env().items() if not k.startswith("PYTHON")}
    done = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``python -m build`` of this checkout: one sdist and one wheel."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, REPO)
    yield out


def _one(dist: Path, pattern: str) -> Path:
    (found,) = dist.glob(pattern)
    return found


def _metadata(dist: Path) -> tuple[dict[str, list[str]], str]:
    with zipfile.ZipFile(_one(dist, "*.whl")) as whl:
        name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(whl.read(name).decode("utf-8"))
    fields: dict[str, list[str]] = {}
    for key, value in message.items():
        fields.setdefault(key, []).append(value)
    return fields, message.get_payload()


def test_licence_in_both_artifacts_and_the_metadata(dist: Path) -> None:
    with zipfile.ZipFile(_one(dist, "*.whl")) as whl:
        licences = [n for n in whl.namelist() if n.endswith("licenses/LICENSE")]
        assert licences and b"MIT License" in whl.read(licences[0])
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        assert any(n.endswith("/LICENSE") for n in sdist.getnames())
    fields, _ = _metadata(dist)
    assert fields["License-Expression"] == ["MIT"]
    assert fields["Version"] == [__version__]  # the one version, read from aurous_nb/_version.py
    labels = {u.split(",")[0] for u in fields["Project-URL"]}
    assert labels == {"Homepage", "Documentation", "Changelog", "Issues"}
    pythons = {c.rsplit(" ", 1)[-1] for c in fields["Classifier"] if "Python :: 3." in c}
    assert pythons == {"3.10", "3.11", "3.12", "3.13"}
    assert not [c for c in fields["Classifier"] if "JupyterLab" in c]  # no lab extension ships


def test_the_pypi_page_has_no_relative_links(dist: Path) -> None:
    fields, description = _metadata(dist)
    home = next(u.split(", ", 1)[1] for u in fields["Project-URL"] if u.startswith("Homepage"))
    targets = re.findall(r"\]\(([^)\s]+)\)", description)
    targets += re.findall(r'\b(?:src|srcset)="([^"\s]+)"', description)  # <picture> images
    assert targets, "the long description has no links at all"
    relative = [t for t in targets if not re.match(r"^(https?:|mailto:|#)", t)]
    assert relative == []
    slug = home.removeprefix("https://github.com/")
    files = [t for t in targets if "github" in t]
    assert files and all(slug in t for t in files)
    image = next(t for t in targets if t.endswith(".png"))
    assert image.startswith("https://raw.githubusercontent.com/" + slug)
    # the Binder badge launches the same repository
    binder = [t for t in targets if t.startswith("https://mybinder.org/v2/gh/")]
    assert binder and all(t.startswith(f"https://mybinder.org/v2/gh/{slug}/") for t in binder)


def test_the_sdist_collects_its_own_tests(dist: Path, tmp_path: Path) -> None:
    with tarfile.open(_one(dist, "*.tar.gz")) as sdist:
        sdist.extractall(tmp_path, filter="data")
    (root,) = tmp_path.iterdir()
    out = _run(sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", cwd=root)
    collected = re.search(r"(\d+) tests? collected", out)
    assert collected and int(collected.group(1)) > 500, out[-500:]
    assert "error" not in out.lower().split("collected")[-1]
    for needed in ("CHANGELOG.md", "LICENSE", "notebooks/images", "tests/conftest.py"):
        assert (root / needed).exists(), needed


def test_the_wheel_installs_and_the_demo_runs_outside_the_repository(
    dist: Path, tmp_path: Path
) -> None:
    venv = tmp_path / "venv"
    wheel = _one(dist, "*.whl")
    uv = shutil.which("uv")
    if uv:  # the same result as pip, in seconds
        _run(uv, "venv", "-q", "-p", sys.executable, venv)
        _run(uv, "pip", "install", "-q", "--python", venv / "bin" / "python", wheel)
    else:
        _run(sys.executable, "-m", "venv", venv)
        _run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel, timeout=600)
    python = venv / "bin" / "python"
    where = _run(python, "-c", "import aurous_nb; print(aurous_nb.__file__)", cwd=tmp_path)
    assert str(venv) in where and str(REPO) not in where
    out = _run(python, "-m", "aurous_nb", "demo", cwd=tmp_path, timeout=120)
    assert re.search(r"Created char_\w+", out) and "status   ready" in out
    assert "%load_ext aurous_nb" in out and "notebooks/" not in out.split("Next")[-1]
    assert "https://github.com/" in out.split("Next")[-1]  # where the demo notebooks are
    script = _run(venv / "bin" / "aurous-sandbox", "--help", cwd=tmp_path)
    assert script.startswith("usage: aurous-sandbox")


def test_the_pytest_plugin_costs_nothing_until_used() -> None:
    """pytest loads the plugin in every project where aurous_nb is installed."""
    code = (
        "import sys, aurous_nb.sandbox.pytest_plugin\n"
        "heavy = [m for m in ('aurous_nb.sandbox.server', 'werkzeug', 'PIL') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    _run(sys.executable, "-c", code)

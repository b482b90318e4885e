"""Only the PyPI page: README.md with its relative links made absolute.

Everything else about the package is in pyproject.toml. README.md links to files in the
repository relatively (right on GitHub and in a checkout); PyPI cannot resolve those, so the
long description points them at the repository named once, in pyproject's
``[project.urls] Homepage``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from setuptools import setup

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent
_LINK = re.compile(r"(!?)\[([^\]]*)\]\(([^)\s]+)\)")
_SOURCE = re.compile(r'\b(src|srcset)="([^"\s]+)"')  # <img src>, <source srcset> (one URL)
_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.-]*:|^#|^//", re.IGNORECASE)


def absolute_links(markdown: str, repository: str, branch: str = "main") -> str:
    """Links and images to repository files, made absolute (images from raw files): Markdown
    links and images, and the ``src``/``srcset`` of HTML images (``<picture>`` blocks)."""
    repository = repository.rstrip("/")
    raw = repository.replace("https://github.com/", "https://raw.githubusercontent.com/", 1)
    raw = f"{raw}/{branch}" if raw != repository else f"{repository}/raw/{branch}"

    def fix(match: re.Match[str]) -> str:
        bang, text, target = match.groups()
        if _ABSOLUTE.match(target):
            return match.group(0)  # a URL, an anchor or a scheme-relative link: as it is
        path = target.lstrip("./")
        url = f"{raw}/{path}" if bang else f"{repository}/blob/{branch}/{path}"
        return f"{bang}[{text}]({url})"

    def fix_source(match: re.Match[str]) -> str:
        attribute, target = match.groups()
        if _ABSOLUTE.match(target):
            return match.group(0)
        return f'{attribute}="{raw}/{target.lstrip("./")}"'

    return _SOURCE.sub(fix_source, _LINK.sub(fix, markdown))


project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
setup(
    long_description=absolute_links(
        (ROOT / "README.md").read_text("utf-8"), project["urls"]["Homepage"]
    ),
    long_description_content_type="text/markdown",
)

"""Draw the sample reference images used by the demo notebooks (Pillow only, deterministic).

Run ``python notebooks/images/draw.py`` from the repository root to regenerate them.
Every picture is drawn here from primitives by the aurous_nb project and dedicated to the
public domain (CC0 1.0); see README.md in this folder.

Layout written::

    notebooks/images/<name>/{front,side,back}.png, portrait.jpg   quickstart characters
    notebooks/images/bulk/<name>/...                                 ten characters, 1-6 views

The views are named so the sandbox's classifier (which reads pose words in the filename)
detects them: ``front``, ``side``, ``back``, ``portrait``; a bulk character may also have a
``side_left`` (mirrored) and an ``action`` view (wide, no pose word: classified ``other``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageOps

HERE = Path(__file__).resolve().parent
W, H = 320, 480  # full-body views
INK = (40, 32, 30)


@dataclass(frozen=True)
class Look:
    """What makes one character recognisable in every view."""

    name: str
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    top: tuple[int, int, int]
    bottom: tuple[int, int, int]
    accent: tuple[int, int, int]
    background: tuple[int, int, int]
    hair_style: str = "short"  # short | long | bun | cap | spiky
    accessory: str = "none"  # none | scarf | glasses | belt
    skirt: bool = False
    width: int = 120  # torso width in px


QUICKSTART: tuple[Look, ...] = (
    Look(
        "mira",
        (241, 194, 160),
        (92, 54, 33),
        (46, 110, 166),
        (55, 58, 72),
        (214, 72, 62),
        (226, 236, 244),
        "long",
        "scarf",
    ),
    Look(
        "tomas",
        (198, 140, 104),
        (30, 28, 30),
        (64, 140, 84),
        (90, 74, 56),
        (240, 200, 60),
        (238, 240, 226),
        "short",
        "glasses",
        width=132,
    ),
    Look(
        "juno",
        (120, 82, 60),
        (20, 18, 22),
        (150, 70, 150),
        (40, 40, 60),
        (250, 170, 60),
        (244, 232, 240),
        "bun",
        "belt",
        skirt=True,
        width=112,
    ),
)

# (look, views) for the bulk notebook: 1 to 6 views each, in three file formats
BULK: tuple[tuple[Look, tuple[str, ...]], ...] = (
    (
        Look(
            "ada",
            (236, 188, 150),
            (180, 60, 40),
            (60, 60, 140),
            (50, 50, 56),
            (250, 220, 90),
            (230, 234, 246),
            "long",
            "glasses",
        ),
        ("front", "side", "back", "portrait"),
    ),
    (
        Look(
            "bruno",
            (170, 120, 90),
            (60, 40, 30),
            (200, 90, 40),
            (60, 70, 90),
            (40, 40, 40),
            (246, 236, 226),
            "cap",
            "none",
            width=136,
        ),
        ("front", "side", "back"),
    ),
    (
        Look(
            "cleo",
            (250, 214, 186),
            (240, 210, 120),
            (230, 120, 150),
            (90, 60, 110),
            (255, 255, 255),
            (250, 238, 242),
            "bun",
            "scarf",
            skirt=True,
        ),
        ("front", "side", "back", "portrait", "side_left", "action"),
    ),
    (
        Look(
            "dev",
            (150, 100, 70),
            (24, 24, 28),
            (40, 150, 160),
            (40, 44, 52),
            (230, 230, 230),
            (228, 242, 242),
            "spiky",
            "belt",
        ),
        ("front", "portrait"),
    ),
    (
        Look(
            "esme",
            (228, 176, 140),
            (120, 80, 150),
            (90, 90, 90),
            (30, 30, 36),
            (160, 220, 90),
            (236, 236, 236),
            "long",
            "none",
            skirt=True,
            width=110,
        ),
        ("front",),
    ),
    (
        Look(
            "finn",
            (244, 204, 170),
            (210, 120, 50),
            (100, 150, 60),
            (120, 100, 70),
            (200, 60, 60),
            (236, 244, 230),
            "short",
            "scarf",
        ),
        ("front", "side", "back"),
    ),
    (
        Look(
            "gale",
            (110, 74, 54),
            (230, 230, 230),
            (170, 40, 60),
            (40, 40, 48),
            (220, 190, 90),
            (244, 230, 230),
            "short",
            "glasses",
            width=128,
        ),
        ("front", "side", "back", "portrait", "action"),
    ),
    (
        Look(
            "hana",
            (238, 200, 164),
            (30, 26, 26),
            (250, 250, 250),
            (60, 80, 150),
            (220, 60, 80),
            (232, 238, 250),
            "bun",
            "belt",
        ),
        ("portrait", "side"),
    ),
    (
        Look(
            "ivo",
            (200, 150, 110),
            (70, 50, 40),
            (80, 80, 120),
            (70, 70, 70),
            (120, 200, 230),
            (234, 234, 244),
            "cap",
            "scarf",
            width=126,
        ),
        ("front", "back"),
    ),
    (
        Look(
            "jade",
            (176, 126, 92),
            (40, 90, 60),
            (40, 120, 90),
            (50, 50, 40),
            (250, 240, 200),
            (230, 242, 234),
            "spiky",
            "none",
            skirt=True,
            width=116,
        ),
        ("front", "side", "back", "portrait", "side_left"),
    ),
)

# which file format each view is saved in (so the demos show all three accepted types)
FORMATS = {"portrait": "jpg", "action": "webp"}


def _shade(color: tuple[int, int, int], f: float) -> tuple[int, int, int]:
    r, g, b = color
    return (int(r * f), int(g * f), int(b * f))


def _canvas(look: Look, size: tuple[int, int] = (W, H)) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", size, look.background)
    draw = ImageDraw.Draw(img)
    if size == (W, H):
        draw.ellipse((60, 448, 260, 472), fill=_shade(look.background, 0.88))  # ground shadow
    return img, draw


def _legs(d: ImageDraw.ImageDraw, look: Look, xs: tuple[int, ...]) -> None:
    for x in xs:
        d.rectangle((x - 15, 300, x + 15, 440), fill=look.skin if look.skirt else look.bottom)
        d.rounded_rectangle((x - 19, 432, x + 23, 456), radius=8, fill=INK)
    if look.skirt:
        cx = sum(xs) // len(xs)
        half = look.width // 2 + 14
        d.polygon(
            [(cx - half + 20, 290), (cx + half - 20, 290), (cx + half, 372), (cx - half, 372)],
            fill=look.bottom,
        )


def _torso(d: ImageDraw.ImageDraw, look: Look, cx: int, half: int, back: bool) -> None:
    d.rounded_rectangle((cx - half, 160, cx + half, 310), radius=24, fill=look.top)
    if look.accessory == "belt":
        d.rectangle((cx - half, 268, cx + half, 282), fill=look.accent)
        if not back:
            d.rectangle((cx - 10, 266, cx + 10, 284), outline=INK, width=2)
    elif not back:
        d.line((cx, 172, cx, 300), fill=_shade(look.top, 0.7), width=3)  # zip / buttons


def _scarf(d: ImageDraw.ImageDraw, look: Look, cx: int, half: int, tail: bool) -> None:
    if look.accessory != "scarf":
        return
    d.rounded_rectangle((cx - half + 12, 150, cx + half - 12, 172), radius=10, fill=look.accent)
    if tail:
        d.rectangle((cx - 14, 168, cx + 4, 216), fill=look.accent)


def _hair_top(d: ImageDraw.ImageDraw, look: Look, box: tuple[int, int, int, int]) -> None:
    x0, y0, x1, y1 = box
    if look.hair_style == "cap":
        d.chord((x0 - 4, y0 - 10, x1 + 4, y1 - 20), 180, 360, fill=look.accent)
        d.rectangle((x0 - 4, (y0 + y1) // 2 - 22, x1 + 22, (y0 + y1) // 2 - 12), fill=look.accent)
        return
    d.chord((x0 - 6, y0 - 12, x1 + 6, y1 - 20), 180, 360, fill=look.hair)
    if look.hair_style == "spiky":
        for i in range(5):
            x = x0 + 8 + i * (x1 - x0 - 16) // 4
            d.polygon([(x - 12, y0 + 10), (x, y0 - 26), (x + 12, y0 + 10)], fill=look.hair)
    elif look.hair_style == "bun":
        cx = (x0 + x1) // 2
        d.ellipse((cx - 22, y0 - 40, cx + 22, y0 + 4), fill=look.hair)


def _long_hair(d: ImageDraw.ImageDraw, look: Look, box: tuple[int, int, int, int]) -> None:
    if look.hair_style == "long":
        x0, y0, x1, y1 = box
        d.rounded_rectangle((x0 - 8, y0 + 20, x1 + 8, y1 + 60), radius=30, fill=look.hair)


def _face(d: ImageDraw.ImageDraw, look: Look, cx: int, eye_y: int, s: float = 1.0) -> None:
    dx = int(24 * s)
    r = int(6 * s)
    for x in (cx - dx, cx + dx):
        d.ellipse((x - r, eye_y - r, x + r, eye_y + r), fill=INK)
        if look.accessory == "glasses":
            g = int(15 * s)
            d.ellipse((x - g, eye_y - g, x + g, eye_y + g), outline=INK, width=max(2, int(3 * s)))
    if look.accessory == "glasses":
        d.line((cx - dx + int(15 * s), eye_y, cx + dx - int(15 * s), eye_y), fill=INK, width=3)
    m = int(20 * s)
    d.arc(
        (cx - m, eye_y + int(12 * s), cx + m, eye_y + int(36 * s)),
        20,
        160,
        fill=INK,
        width=max(3, int(3 * s)),
    )


def front(look: Look) -> Image.Image:
    img, d = _canvas(look)
    half = look.width // 2
    head = (110, 50, 210, 150)
    _long_hair(d, look, head)
    _legs(d, look, (136, 184))
    _torso(d, look, 160, half, back=False)
    for x0 in (160 - half - 30, 160 + half + 2):  # arms
        d.rounded_rectangle((x0, 168, x0 + 28, 290), radius=14, fill=look.top)
        d.ellipse((x0 + 1, 282, x0 + 27, 308), fill=look.skin)
    d.rectangle((148, 140, 172, 166), fill=look.skin)  # neck
    _scarf(d, look, 160, half, tail=False)
    d.ellipse(head, fill=look.skin)
    d.ellipse((102, 80, 118, 112), fill=look.skin)  # ears
    d.ellipse((202, 80, 218, 112), fill=look.skin)
    _hair_top(d, look, head)
    _face(d, look, 160, 99)
    return img


def side(look: Look) -> Image.Image:
    img, d = _canvas(look)
    head = (114, 50, 210, 150)
    if look.hair_style == "long":
        d.rounded_rectangle((104, 70, 170, 210), radius=26, fill=look.hair)
    _legs(d, look, (160,))
    d.rounded_rectangle((124, 160, 196, 310), radius=22, fill=look.top)
    if look.accessory == "belt":
        d.rectangle((124, 268, 196, 282), fill=look.accent)
    d.rounded_rectangle((146, 168, 174, 290), radius=14, fill=_shade(look.top, 0.85))  # arm
    d.ellipse((147, 282, 173, 308), fill=look.skin)
    d.rectangle((150, 140, 172, 166), fill=look.skin)
    if look.accessory == "scarf":
        d.rounded_rectangle((128, 150, 196, 172), radius=10, fill=look.accent)
    d.ellipse(head, fill=look.skin)
    d.polygon([(206, 92), (222, 112), (204, 116)], fill=look.skin)  # nose points right
    if look.hair_style == "cap":
        d.chord((110, 38, 214, 126), 180, 360, fill=look.accent)
        d.rectangle((160, 76, 236, 86), fill=look.accent)  # visor
    else:
        d.chord((110, 42, 212, 130), 180, 360, fill=look.hair)
        d.pieslice((108, 44, 208, 152), 90, 270, fill=look.hair)
        if look.hair_style == "bun":
            d.ellipse((96, 40, 136, 80), fill=look.hair)
        elif look.hair_style == "spiky":
            for x in (124, 150, 176):
                d.polygon([(x - 12, 54), (x - 4, 20), (x + 12, 54)], fill=look.hair)
    d.ellipse((146, 86, 166, 112), fill=look.skin)  # ear
    d.ellipse((186, 92, 196, 104), fill=INK)  # one eye
    if look.accessory == "glasses":
        d.ellipse((180, 86, 202, 110), outline=INK, width=3)
        d.line((156, 96, 180, 98), fill=INK, width=3)
    d.line((190, 128, 204, 126), fill=INK, width=3)  # mouth
    return img


def back(look: Look) -> Image.Image:
    img, d = _canvas(look)
    half = look.width // 2
    _legs(d, look, (136, 184))
    _torso(d, look, 160, half, back=True)
    d.line((160 - half + 12, 230, 160 + half - 12, 230), fill=_shade(look.top, 0.7), width=3)
    for x0 in (160 - half - 30, 160 + half + 2):
        d.rounded_rectangle((x0, 168, x0 + 28, 290), radius=14, fill=look.top)
        d.ellipse((x0 + 1, 282, x0 + 27, 308), fill=look.skin)
    d.rectangle((148, 140, 172, 166), fill=look.skin)
    _scarf(d, look, 160, half, tail=True)
    d.ellipse((102, 80, 118, 112), fill=look.skin)
    d.ellipse((202, 80, 218, 112), fill=look.skin)
    if look.hair_style == "cap":
        d.ellipse((108, 44, 212, 152), fill=look.hair)
        d.chord((104, 34, 216, 124), 180, 360, fill=look.accent)
    else:
        d.ellipse((108, 44, 212, 152), fill=look.hair)  # only hair seen from behind
        _long_hair(d, look, (110, 50, 210, 150))
        if look.hair_style == "bun":
            d.ellipse((138, 14, 182, 58), fill=look.hair)
        elif look.hair_style == "spiky":
            for x in (126, 160, 194):
                d.polygon([(x - 12, 60), (x, 22), (x + 12, 60)], fill=look.hair)
    return img


def portrait(look: Look) -> Image.Image:
    img, d = _canvas(look, (320, 320))
    if look.hair_style == "long":
        d.rounded_rectangle((60, 70, 260, 300), radius=50, fill=look.hair)
    d.rounded_rectangle((40, 250, 280, 380), radius=50, fill=look.top)  # shoulders
    d.rectangle((136, 200, 184, 260), fill=look.skin)
    if look.accessory == "scarf":
        d.rounded_rectangle((96, 232, 224, 268), radius=16, fill=look.accent)
    d.ellipse((80, 40, 240, 220), fill=look.skin)
    d.ellipse((68, 110, 94, 160), fill=look.skin)
    d.ellipse((226, 110, 252, 160), fill=look.skin)
    _hair_top(d, look, (80, 40, 240, 180))
    _face(d, look, 160, 130, s=1.4)
    return img


def side_left(look: Look) -> Image.Image:
    return ImageOps.mirror(side(look))


def action(look: Look) -> Image.Image:
    """A wide two-figure frame (front and side together): no single pose."""
    img = Image.new("RGB", (560, 400), look.background)
    for i, view in enumerate((front, side)):
        fig = view(look).resize((240, 360))
        img.paste(fig, (30 + i * 270, 20))
    return img


VIEWS: dict[str, Callable[[Look], Image.Image]] = {
    "front": front,
    "side": side,
    "back": back,
    "portrait": portrait,
    "side_left": side_left,
    "action": action,
}


def _save(img: Image.Image, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".png":
        img.quantize(32).save(path, optimize=True)  # a small palette keeps PNGs at a few KB
    elif path.suffix == ".jpg":
        img.save(path, quality=85, optimize=True)
    else:
        img.save(path, quality=80, method=4)


def write_all(root: Path = HERE) -> list[Path]:
    """Draw every image under ``root``; returns the written paths."""
    written = []
    for look in QUICKSTART:
        for view in ("front", "side", "back", "portrait"):
            path = root / look.name / f"{view}.{FORMATS.get(view, 'png')}"
            _save(VIEWS[view](look), path)
            written.append(path)
    for look, views in BULK:
        for view in views:
            path = root / "bulk" / look.name / f"{view}.{FORMATS.get(view, 'png')}"
            _save(VIEWS[view](look), path)
            written.append(path)
    return written


def main() -> int:
    written = write_all()
    total = sum(p.stat().st_size for p in written)
    print(f"{len(written)} images, {total / 1024:.0f} KiB in {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Pillow drawings of a simple character figure for synthesized refs.

One PNG per pose (portrait, front, side, back), 384×512. Hair and eye colour, hair
length and body type come from the character's ``attributes``; skin tone and outfit are
picked from the name, so two characters look different and one character looks the same
in all four views. ``variant`` (bumped by regenerate) shifts the backdrop.
"""

from __future__ import annotations

import hashlib
import io
from typing import Any

WIDTH, HEIGHT = 384, 512

_COLOURS = {
    "black": (28, 28, 34),
    "dark": (55, 40, 30),
    "brown": (110, 70, 40),
    "chestnut": (120, 60, 30),
    "hazel": (140, 110, 50),
    "amber": (190, 130, 40),
    "blond": (228, 196, 110),
    "golden": (220, 180, 80),
    "red": (175, 60, 30),
    "ginger": (200, 95, 40),
    "auburn": (140, 50, 35),
    "gray": (150, 150, 156),
    "grey": (150, 150, 156),
    "silver": (195, 195, 205),
    "white": (238, 238, 238),
    "blue": (60, 110, 210),
    "green": (60, 150, 80),
    "pink": (235, 125, 175),
    "purple": (130, 75, 175),
    "violet": (150, 90, 200),
}
_SKIN = [(255, 224, 196), (241, 194, 150), (224, 172, 125), (198, 134, 96), (141, 85, 54)]
_OUTFIT = [(52, 101, 164), (180, 60, 70), (60, 140, 100), (200, 150, 50), (100, 80, 160)]
_BACKDROP = {
    "portrait": (232, 238, 250),
    "front": (236, 246, 236),
    "side": (250, 240, 228),
    "back": (240, 232, 246),
    "other": (238, 238, 238),
}

RGB = tuple[int, int, int]


def _colour(text: Any, default: RGB) -> RGB:
    words = str(text or "").lower()
    for name, rgb in _COLOURS.items():
        if name in words:
            return rgb
    return default


def _pick(seed: str, palette: list[RGB]) -> RGB:
    return palette[hashlib.sha256(seed.encode()).digest()[0] % len(palette)]


def _shade(rgb: RGB, factor: float) -> RGB:
    r, g, b = (max(0, min(255, int(c * factor))) for c in rgb)
    return (r, g, b)


def render_ref(name: str, attributes: dict[str, Any] | None, pose: str, variant: int = 0) -> bytes:
    """PNG bytes of ``name`` drawn in ``pose`` (any of the five; ``other`` = front, tinted)."""
    from PIL import Image, ImageDraw  # lazy: only synthesized refs need Pillow drawing

    attrs = attributes or {}
    hair = _colour(attrs.get("hair_color"), (110, 70, 40))
    eyes = _colour(attrs.get("eye_color"), (90, 60, 40))
    skin = _pick("skin:" + name, _SKIN)
    outfit = _pick("outfit:" + name + str(attrs.get("additional_details", "")), _OUTFIT)
    body = str(attrs.get("body_type") or "").lower()
    width = 1.25 if any(w in body for w in ("heavy", "large", "curvy", "stocky")) else 1.0
    width = 0.85 if any(w in body for w in ("slim", "thin", "slender", "petite")) else width
    width = 1.1 if any(w in body for w in ("athletic", "muscular", "broad")) else width
    style = str(attrs.get("hair_style") or "").lower()
    long_hair = any(w in style for w in ("long", "shoulder", "ponytail", "braid"))

    backdrop = _shade(_BACKDROP.get(pose, _BACKDROP["other"]), 1.0 - 0.06 * (variant % 4))
    img = Image.new("RGB", (WIDTH, HEIGHT), backdrop)
    draw = ImageDraw.Draw(img)
    fig = _Figure(draw, skin, hair, eyes, outfit, width, long_hair)
    if pose == "portrait":
        fig.portrait()
    elif pose == "side":
        fig.side()
    elif pose == "back":
        fig.back()
    else:
        fig.front()
    label = f"{pose.upper()} - {name}"[:40]
    draw.rectangle((0, HEIGHT - 28, WIDTH, HEIGHT), fill=_shade(backdrop, 0.85))
    draw.text((10, HEIGHT - 22), label, fill=(40, 40, 40))
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue()


class _Figure:
    """Draws the figure's parts; coordinates are for the 384×512 canvas."""

    def __init__(
        self,
        draw: Any,
        skin: RGB,
        hair: RGB,
        eyes: RGB,
        outfit: RGB,
        width: float,
        long_hair: bool,
    ) -> None:
        self.d, self.skin, self.hair, self.eyes = draw, skin, hair, eyes
        self.outfit, self.w, self.long_hair = outfit, width, long_hair
        self.outline = (40, 40, 40)

    def _body(self, cx: int, half: int, arms: bool = True) -> None:
        d, o = self.d, self.outline
        d.ellipse((cx - 90, 452, cx + 90, 476), fill=(200, 200, 200))
        legs = _shade(self.outfit, 0.6)
        d.rectangle((cx - half + 8, 300, cx - 6, 448), fill=legs, outline=o)
        d.rectangle((cx + 6, 300, cx + half - 8, 448), fill=legs, outline=o)
        d.rounded_rectangle((cx - half, 160, cx + half, 310), 18, fill=self.outfit, outline=o)
        if arms:
            d.rounded_rectangle(
                (cx - half - 24, 168, cx - half, 300), 10, fill=self.outfit, outline=o
            )
            d.rounded_rectangle(
                (cx + half, 168, cx + half + 24, 300), 10, fill=self.outfit, outline=o
            )
            d.ellipse((cx - half - 26, 292, cx - half + 2, 318), fill=self.skin, outline=o)
            d.ellipse((cx + half - 2, 292, cx + half + 26, 318), fill=self.skin, outline=o)
        d.rectangle((cx - 12, 140, cx + 12, 164), fill=self.skin, outline=o)

    def _head(self, cx: int, cy: int, r: int) -> None:
        d, o = self.d, self.outline
        if self.long_hair:
            d.rounded_rectangle(
                (cx - r - 8, cy - r, cx + r + 8, cy + int(r * 1.6)), r // 2, fill=self.hair
            )
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=self.skin, outline=o)
        d.chord((cx - r - 4, cy - r - 8, cx + r + 4, cy + r // 2), 180, 360, fill=self.hair)

    def _face(self, cx: int, cy: int, r: int) -> None:
        d, o = self.d, self.outline
        er = max(3, r // 8)
        for ex in (cx - r // 3, cx + r // 3):
            d.ellipse(
                (ex - er * 2, cy - er, ex + er * 2, cy + er + 2), fill=(255, 255, 255), outline=o
            )
            d.ellipse((ex - er, cy - er + 1, ex + er, cy + er + 1), fill=self.eyes)
        d.arc((cx - r // 3, cy + r // 4, cx + r // 3, cy + r // 2 + 6), 20, 160, fill=o, width=3)

    def front(self) -> None:
        half = int(60 * self.w)
        self._body(192, half)
        self._head(192, 100, 44)
        self._face(192, 106, 44)

    def back(self) -> None:
        half = int(60 * self.w)
        self._body(192, half)
        r, d = 44, self.d
        if self.long_hair:
            d.rounded_rectangle(
                (192 - r - 8, 100 - r, 192 + r + 8, 100 + int(r * 1.6)), r // 2, fill=self.hair
            )
        d.ellipse((192 - r, 100 - r, 192 + r, 100 + r), fill=self.hair, outline=self.outline)

    def side(self) -> None:
        d, o = self.d, self.outline
        cx, half = 192, int(34 * self.w)
        d.ellipse((cx - 90, 452, cx + 90, 476), fill=(200, 200, 200))
        legs = _shade(self.outfit, 0.6)
        d.rectangle((cx - 14, 300, cx + 10, 448), fill=_shade(legs, 0.8), outline=o)
        d.rectangle((cx - 8, 300, cx + 16, 448), fill=legs, outline=o)
        d.ellipse((cx - 8, 438, cx + 40, 456), fill=(60, 50, 40))
        d.rounded_rectangle((cx - half, 160, cx + half, 310), 18, fill=self.outfit, outline=o)
        d.rectangle((cx - 12, 140, cx + 12, 164), fill=self.skin, outline=o)
        d.rounded_rectangle(
            (cx - 12, 170, cx + 12, 300), 10, fill=_shade(self.outfit, 0.85), outline=o
        )
        r = 44
        if self.long_hair:
            d.rounded_rectangle(
                (cx - r - 6, 100 - r, cx + 4, 100 + int(r * 1.6)), r // 2, fill=self.hair
            )
        d.ellipse((cx - r, 100 - r, cx + r, 100 + r), fill=self.skin, outline=o)
        d.polygon(
            [(cx + r - 4, 96), (cx + r + 12, 112), (cx + r - 4, 116)], fill=self.skin, outline=o
        )
        d.pieslice((cx - r - 4, 100 - r - 8, cx + r + 4, 100 + r + 8), 165, 305, fill=self.hair)
        d.ellipse((cx + 18, 94, cx + 30, 104), fill=(255, 255, 255), outline=o)
        d.ellipse((cx + 23, 95, cx + 30, 103), fill=self.eyes)
        d.line((cx + 20, 126, cx + 34, 124), fill=o, width=3)

    def portrait(self) -> None:
        d, o = self.d, self.outline
        half = int(150 * self.w)
        d.ellipse((192 - half, 380, 192 + half, 600), fill=self.outfit, outline=o)
        d.rectangle((192 - 30, 320, 192 + 30, 400), fill=self.skin, outline=o)
        self._head(192, 220, 110)
        self._face(192, 236, 110)
        for ex in (192 - 37, 192 + 37):
            d.line((ex - 22, 200, ex + 22, 196), fill=_shade(self.hair, 0.8), width=6)

"""Draw the bundled sample reference images (a simple character in four views) with Pillow.

Run ``python -m aurous_nb.samples._draw`` to regenerate them; the output is deterministic.
The images are ours (drawn here from primitives), so they carry the project's license.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent

BG = (226, 236, 244)
SKIN = (241, 194, 160)
HAIR = (92, 54, 33)
JACKET = (46, 110, 166)
TROUSERS = (55, 58, 72)
SHOES = (30, 30, 34)
SCARF = (214, 72, 62)
INK = (40, 32, 30)
W, H = 320, 480


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGB", (W, H), BG)
    draw = ImageDraw.Draw(img)
    draw.ellipse((60, 448, 260, 472), fill=(200, 210, 220))  # ground shadow
    return img, draw


def _legs(draw: ImageDraw.ImageDraw, xs: tuple[int, ...]) -> None:
    for x in xs:
        draw.rectangle((x - 17, 300, x + 17, 440), fill=TROUSERS)
        draw.rounded_rectangle((x - 20, 432, x + 24, 456), radius=8, fill=SHOES)


def front() -> Image.Image:
    img, d = _canvas()
    _legs(d, (136, 184))
    d.rounded_rectangle((100, 160, 220, 310), radius=24, fill=JACKET)  # torso
    d.line((160, 170, 160, 305), fill=(30, 80, 126), width=3)  # zip
    for x0 in (70, 222):  # arms
        d.rounded_rectangle((x0, 168, x0 + 28, 290), radius=14, fill=JACKET)
        d.ellipse((x0 + 1, 282, x0 + 27, 308), fill=SKIN)
    d.rectangle((148, 140, 172, 166), fill=SKIN)  # neck
    d.rounded_rectangle((112, 150, 208, 172), radius=10, fill=SCARF)
    d.ellipse((110, 50, 210, 150), fill=SKIN)  # face
    d.chord((104, 38, 216, 130), 180, 360, fill=HAIR)  # fringe
    d.ellipse((102, 80, 118, 112), fill=SKIN)  # ears
    d.ellipse((202, 80, 218, 112), fill=SKIN)
    d.ellipse((136, 92, 148, 106), fill=INK)  # eyes
    d.ellipse((172, 92, 184, 106), fill=INK)
    d.arc((140, 108, 180, 134), 20, 160, fill=INK, width=3)  # smile
    return img


def side() -> Image.Image:
    img, d = _canvas()
    _legs(d, (160,))
    d.rounded_rectangle((124, 160, 196, 310), radius=22, fill=JACKET)
    d.rounded_rectangle((146, 168, 174, 290), radius=14, fill=(38, 96, 148))  # arm
    d.ellipse((147, 282, 173, 308), fill=SKIN)
    d.rectangle((150, 140, 172, 166), fill=SKIN)
    d.rounded_rectangle((128, 150, 196, 172), radius=10, fill=SCARF)
    d.ellipse((114, 50, 210, 150), fill=SKIN)  # head
    d.polygon([(206, 92), (222, 112), (204, 116)], fill=SKIN)  # nose points right
    d.chord((110, 42, 212, 130), 180, 360, fill=HAIR)  # hair on top ...
    d.pieslice((108, 44, 208, 152), 90, 270, fill=HAIR)  # ... and over the back of the head
    d.ellipse((146, 86, 166, 112), fill=SKIN)  # ear
    d.ellipse((186, 92, 196, 104), fill=INK)  # one eye
    d.line((190, 128, 204, 126), fill=INK, width=3)  # mouth
    return img


def back() -> Image.Image:
    img, d = _canvas()
    _legs(d, (136, 184))
    d.rounded_rectangle((100, 160, 220, 310), radius=24, fill=JACKET)
    d.line((112, 230, 208, 230), fill=(30, 80, 126), width=3)  # back seam
    for x0 in (70, 222):
        d.rounded_rectangle((x0, 168, x0 + 28, 290), radius=14, fill=JACKET)
        d.ellipse((x0 + 1, 282, x0 + 27, 308), fill=SKIN)
    d.rectangle((148, 140, 172, 166), fill=SKIN)
    d.rounded_rectangle((112, 150, 208, 172), radius=10, fill=SCARF)
    d.rectangle((146, 168, 164, 214), fill=SCARF)  # scarf tail hangs down the back
    d.ellipse((102, 80, 118, 112), fill=SKIN)
    d.ellipse((202, 80, 218, 112), fill=SKIN)
    d.ellipse((108, 44, 212, 152), fill=HAIR)  # only hair seen from behind
    return img


def portrait() -> Image.Image:
    img = Image.new("RGB", (320, 320), BG)
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((40, 250, 280, 380), radius=50, fill=JACKET)  # shoulders
    d.rectangle((136, 200, 184, 260), fill=SKIN)
    d.rounded_rectangle((96, 232, 224, 268), radius=16, fill=SCARF)
    d.ellipse((80, 40, 240, 220), fill=SKIN)
    d.chord((70, 18, 250, 160), 180, 360, fill=HAIR)
    d.ellipse((68, 110, 94, 160), fill=SKIN)
    d.ellipse((226, 110, 252, 160), fill=SKIN)
    d.ellipse((122, 118, 142, 140), fill=INK)
    d.ellipse((178, 118, 198, 140), fill=INK)
    d.ellipse((128, 122, 134, 128), fill=(255, 255, 255))  # catch-lights
    d.ellipse((184, 122, 190, 128), fill=(255, 255, 255))
    d.arc((126, 150, 194, 196), 20, 160, fill=INK, width=4)
    return img


def main() -> None:
    """Write front.png, side.png, back.png and portrait.jpg next to this file."""
    for name, draw in (("front", front), ("side", side), ("back", back)):
        # a 32-colour palette keeps each PNG at a few kilobytes
        draw().quantize(32).save(HERE / f"{name}.png", optimize=True)
    portrait().save(HERE / "portrait.jpg", quality=85, optimize=True)
    for p in sorted(HERE.glob("*.*g")):
        print(f"{p.name}: {p.stat().st_size} bytes")


if __name__ == "__main__":
    main()

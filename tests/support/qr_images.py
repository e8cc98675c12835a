"""QR codes as a phone's camera sees them: the terminal's text drawn as an image, read back by a real decoder."""

from __future__ import annotations

import os
from pathlib import Path

import zxingcpp
from PIL import Image

from citizen import qr


def unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write into (root writes everywhere but /sys)."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def terminal_image(text: str, light_background: bool = False, px: int = 6, margin: int = 6) -> Image.Image:
    """The terminal as a phone sees it: each character one module wide and two tall, block
    characters in the text colour, spaces in the background colour, and the terminal's own
    background (dark, or light) all around."""
    ink, paper = (0, 255) if light_background else (255, 0)
    lines = text.split("\n")
    width = len(lines[0])
    assert all(len(line) == width for line in lines), "every line is as wide as the code"
    image = Image.new("L", ((width + 2 * margin) * px, (2 * len(lines) + 2 * margin) * px), paper)
    for row, line in enumerate(lines):
        for col, char in enumerate(line):
            upper = char in (qr.UPPER, qr.FULL)
            lower = char in (qr.LOWER, qr.FULL)
            assert char in (qr.UPPER, qr.LOWER, qr.FULL, qr.EMPTY), f"unexpected character {char!r}"
            for half, inked in ((0, upper), (1, lower)):
                if inked:
                    x, y = (margin + col) * px, (margin + 2 * row + half) * px
                    image.paste(ink, (x, y, x + px, y + px))
    return image


def decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]

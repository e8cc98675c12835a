"""QR codes for invitation links: drawn in the terminal, and saved as PNG or SVG posters.

Size: a code is made at the smallest QR version the link fits in (bigger modules are easier for a
phone camera to read off a screen), then with the strongest error correction that still fits that
version. A typical link, ``http://192.168.100.200:8080/j/<24-character token>`` (54 characters),
is version 3 (29 modules) with correction L: with the standard quiet zone of 4 modules that is 37
columns and 19 lines, inside an 80x24 terminal. A screen is not scratched or folded, so low
correction costs little there; posters, which are, ask for correction Q at least (a version or
two larger on paper, where there is room).

Polarity in the terminal: each character is one module wide and two tall (``▀ ▄ █`` and space).
By default the *light* modules and the quiet zone are drawn with block characters, in the
terminal's text colour, and the dark modules are left as spaces, in its background colour. On the
usual terminal (light text on a dark background) the code then reads as dark modules on white, as
printed codes do. ``terminal_text(..., light_background=True)`` draws the other way round, for
dark text on a light background. ``terminal_ansi`` and the terminal app draw it in fixed white on
black, whatever the terminal's colours.
"""

from __future__ import annotations

import errno
import html
import os
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Optional

import qrcode
from qrcode.constants import ERROR_CORRECT_H, ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q
from qrcode.exceptions import DataOverflowError

from .services.common import ServiceError

# Strongest last: the correction is raised as far as the smallest version allows.
CORRECTIONS = (ERROR_CORRECT_L, ERROR_CORRECT_M, ERROR_CORRECT_Q, ERROR_CORRECT_H)
CORRECTION_NAMES = {ERROR_CORRECT_L: "L", ERROR_CORRECT_M: "M", ERROR_CORRECT_Q: "Q", ERROR_CORRECT_H: "H"}
QUIET_ZONE = 4  # light modules around the code, in the terminal as on paper (the standard's margin)
POSTER_CORRECTION = ERROR_CORRECT_Q  # paper gets scuffed, folded and rained on
MAX_LINK = 2000  # far beyond any invitation link; a longer text is refused rather than drawn unreadably

UPPER, LOWER, FULL, EMPTY = "▀", "▄", "█", " "


class QrError(ServiceError):
    """A code that cannot be made or saved, in words a person can act on."""


def make_qr(data: str, least: int = ERROR_CORRECT_L) -> qrcode.QRCode:
    """The code for ``data``: the smallest version at correction ``least`` or better, then the
    strongest correction that fits that version."""
    if not data:
        raise QrError("There is no link to draw as a QR code.")
    if len(data) > MAX_LINK:
        raise QrError(f"This text is too long for a QR code a phone can read ({len(data)} characters).")
    smallest = qrcode.QRCode(error_correction=least, border=0)
    try:
        smallest.add_data(data)
        smallest.make(fit=True)
    except DataOverflowError:
        raise QrError("This text is too long for a QR code.") from None
    version = smallest.version
    best = smallest
    for level in CORRECTIONS[CORRECTIONS.index(least) + 1 :]:
        code = qrcode.QRCode(version=version, error_correction=level, border=0)
        code.add_data(data)
        try:
            code.make(fit=False)
        except DataOverflowError:
            break
        best = code
    return best


def describe(data: str, least: int = ERROR_CORRECT_L) -> str:
    """The version and correction chosen, in one short phrase (for the terminal app and tests)."""
    code = make_qr(data, least)
    size = code.modules_count
    return f"version {code.version} ({size}x{size} modules), error correction {CORRECTION_NAMES[code.error_correction]}"


def modules(data: str, border: int = 0, least: int = ERROR_CORRECT_L) -> list[list[bool]]:
    """The code's modules, True for dark, with ``border`` light modules all around."""
    matrix = [[bool(m) for m in row] for row in make_qr(data, least).modules]
    size = len(matrix) + 2 * border
    blank = [False] * size
    return (
        [list(blank) for _ in range(border)]
        + [[False] * border + row + [False] * border for row in matrix]
        + [list(blank) for _ in range(border)]
    )


def terminal_text(data: str, *, border: int = QUIET_ZONE, light_background: bool = False) -> str:
    """The code drawn with half blocks: one character per module across, two modules per line.

    Block characters are light modules (see the module's note on polarity), unless
    ``light_background`` is set, when they are the dark ones.
    """
    grid = modules(data, border)
    if len(grid) % 2:
        grid.append([False] * len(grid[0]))  # one more light row: the quiet zone, a little deeper
    lines = []
    for top, bottom in zip(grid[0::2], grid[1::2], strict=True):
        chars = []
        for upper_dark, lower_dark in zip(top, bottom, strict=True):
            upper_ink = upper_dark if light_background else not upper_dark
            lower_ink = lower_dark if light_background else not lower_dark
            chars.append(FULL if upper_ink and lower_ink else UPPER if upper_ink else LOWER if lower_ink else EMPTY)
        lines.append("".join(chars))
    return "\n".join(lines)


def terminal_ansi(data: str, *, border: int = QUIET_ZONE) -> str:
    """The terminal text in fixed bright white on black, right on any terminal's colours."""
    return "\n".join(f"\x1b[97;40m{line}\x1b[0m" for line in terminal_text(data, border=border).splitlines())


def terminal_size(data: str, border: int = QUIET_ZONE) -> tuple[int, int]:
    """Columns and lines the terminal text takes."""
    lines = terminal_text(data, border=border).splitlines()
    return len(lines[0]), len(lines)


# -- posters -------------------------------------------------------------------------------------------

FONT_FOLDERS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype/liberation")
FONT_FILES = {
    "title": ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"),
    "text": ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    "link": ("DejaVuSansMono.ttf", "LiberationMono-Regular.ttf"),
}


def _font(kind: str, size: int):
    from PIL import ImageFont  # lazy: Pillow loads only when a poster is drawn (start-up time)

    for folder in FONT_FOLDERS:
        for name in FONT_FILES[kind]:
            path = Path(folder) / name
            if path.is_file():
                return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)  # Pillow's own scalable font


def _wrap(text: str, fits) -> list[str]:
    """Lines of ``text`` each of which ``fits``; a word too long for a line is cut."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if fits(candidate):
                line = candidate
                continue
            if line:
                lines.append(line)
            while not fits(word) and len(word) > 1:
                cut = len(word) - 1
                while cut > 1 and not fits(word[:cut]):
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def poster_png(data: str, title: str, aim: str, *, module_px: int = 16) -> bytes:
    """A poster as PNG bytes: the code, then the study's title, its shared aim and the link."""
    from PIL import Image, ImageDraw, PngImagePlugin  # lazy: Pillow only for posters (start-up time)

    grid = modules(data, QUIET_ZONE, POSTER_CORRECTION)
    qr_px = len(grid) * module_px
    width = max(qr_px, 720)
    margin = 32
    fonts = {"title": _font("title", 30), "text": _font("text", 20), "link": _font("link", 18)}
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))
    blocks = []
    for kind, text in (("title", title), ("text", aim), ("link", data)):
        font = fonts[kind]
        for line in _wrap(text, lambda s, f=font: measure.textlength(s, font=f) <= width - 2 * margin):
            top, bottom = font.getbbox("Ag")[1], font.getbbox("Ag")[3]
            blocks.append((line, font, bottom - top + 10))
        blocks.append(("", font, 12))
    height = qr_px + sum(h for _, _, h in blocks) + margin
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    left = (width - qr_px) // 2
    for y, row in enumerate(grid):
        for x, dark in enumerate(row):
            if dark:
                draw.rectangle(
                    [left + x * module_px, y * module_px, left + (x + 1) * module_px - 1, (y + 1) * module_px - 1], fill=0
                )
    y = qr_px
    for line, font, step in blocks:
        if line:
            draw.text((width / 2, y), line, font=font, fill=0, anchor="ma")
        y += step
    info = PngImagePlugin.PngInfo()  # the words again, for anything that reads the file rather than the picture
    info.add_itxt("Title", title)
    info.add_itxt("Description", aim)
    info.add_itxt("URL", data)
    out = BytesIO()
    image.save(out, format="PNG", optimize=True, pnginfo=info)
    return out.getvalue()


def poster_svg(data: str, title: str, aim: str, *, module_px: int = 16) -> bytes:
    """A poster as SVG: one ``rect`` per run of dark modules in a row, then the texts, escaped."""
    grid = modules(data, QUIET_ZONE, POSTER_CORRECTION)
    qr_px = len(grid) * module_px
    width = max(qr_px, 720)
    left = (width - qr_px) // 2
    chars_per_line = {"title": 36, "text": 56, "link": 60}
    rects = []
    for y, row in enumerate(grid):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                rects.append(
                    f'<rect x="{left + start * module_px}" y="{y * module_px}" '
                    f'width="{(x - start) * module_px}" height="{module_px}"/>'
                )
            else:
                x += 1
    texts = []
    y = qr_px
    for kind, text, size in (("title", title, 30), ("text", aim, 20), ("link", data, 18)):
        limit = chars_per_line[kind]
        for line in _wrap(text, lambda s, n=limit: len(s) <= n):
            y += size + 10
            family = "monospace" if kind == "link" else "sans-serif"
            weight = ' font-weight="bold"' if kind == "title" else ""
            texts.append(
                f'<text class="{kind}" x="{width // 2}" y="{y}" font-family="{family}" '
                f'font-size="{size}"{weight} text-anchor="middle">{html.escape(line, quote=False)}</text>'
            )
        y += 12
    height = y + 32
    svg = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" data-modules="{len(grid) - 2 * QUIET_ZONE}" '
        f'data-module-px="{module_px}" data-border="{QUIET_ZONE}">\n'
        f"<title>{html.escape(title, quote=False)}</title>\n"
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>\n'
        f'<g class="qr" fill="#000000" shape-rendering="crispEdges">\n'
        + "\n".join(rects)
        + "\n</g>\n"
        + "\n".join(texts)
        + "\n</svg>\n"
    )
    return svg.encode("utf-8")


def write_file(path: Path, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` atomically (temporary file, fsync, rename); plain refusals."""
    path = Path(path).expanduser()
    folder = path.parent
    if not folder.is_dir():
        raise QrError(f"The folder {folder} does not exist; create it or choose another place to save.")
    if path.is_dir():
        raise QrError(f"{path} is a folder; give a file name such as {path / 'poster.png'}.")
    tmp: Optional[str] = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise QrError(f"Cannot write {path}: permission denied or a read-only disk. Nothing was saved.") from None
        if exc.errno == errno.ENOSPC:
            raise QrError(f"The disk is full; {path} was not saved.") from None
        raise QrError(f"Cannot write {path} ({exc.strerror or exc}). Nothing was saved.") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def save_png(path: Path, data: str, title: str, aim: str) -> Path:
    """Save a PNG poster of ``data`` with the title, the shared aim and the link under the code."""
    return write_file(path, poster_png(data, title, aim))


def save_svg(path: Path, data: str, title: str, aim: str) -> Path:
    """Save an SVG poster of ``data`` with the title, the shared aim and the link under the code."""
    return write_file(path, poster_svg(data, title, aim))


def save_poster(path: Path, data: str, title: str, aim: str) -> Path:
    """PNG or SVG by the file's ending (``.svg`` is SVG; anything else is refused unless ``.png``)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".svg":
        return save_svg(path, data, title, aim)
    if suffix == ".png":
        return save_png(path, data, title, aim)
    raise QrError(f"Give the poster a name ending in .png or .svg (not '{Path(path).name}').")

"""QR codes read back by a real decoder: the terminal text, the PNG poster and the SVG poster."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from io import BytesIO

import pytest
from PIL import Image

from citizen import qr
from citizen.services.common import new_token

from .support.qr_images import decoded, terminal_image, unwritable_folder

TYPICAL = "http://192.168.100.200:8080/j/" + new_token()
LONGEST_TYPICAL = "http://255.255.255.255:65535/j/" + new_token()
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("link", [TYPICAL, LONGEST_TYPICAL, "http://10.0.0.2:8080/p/" + new_token()])
def test_terminal_text_decodes_to_the_exact_link_on_a_dark_terminal(link):
    assert decoded(terminal_image(qr.terminal_text(link))) == [link]


def test_terminal_text_for_a_light_background_decodes_there():
    text = qr.terminal_text(TYPICAL, light_background=True)
    assert decoded(terminal_image(text, light_background=True)) == [TYPICAL]


def test_dark_terminal_polarity_puts_light_blocks_around_dark_spaces():
    # The quiet zone is light: block characters on the first and last line, the corners of the
    # finder patterns dark: spaces inside. The other polarity is its exact opposite.
    text = qr.terminal_text(TYPICAL)
    lines = text.splitlines()
    assert set(lines[0]) == {qr.FULL} and set(lines[-1]) <= {qr.FULL, qr.UPPER}
    assert qr.EMPTY in text
    inverse = qr.terminal_text(TYPICAL, light_background=True)
    assert set(inverse.splitlines()[0]) == {qr.EMPTY}


@pytest.mark.parametrize("link", [TYPICAL, LONGEST_TYPICAL])
def test_a_typical_link_fits_an_80x24_terminal_with_room_for_the_link(link):
    cols, lines = qr.terminal_size(link)
    assert cols <= 80 and lines <= 22, (cols, lines, qr.describe(link))
    assert all(len(line) == cols for line in qr.terminal_text(link).splitlines())


def test_the_smallest_version_then_the_strongest_correction_it_holds():
    # 14 bytes: version 1 holds 17 at L, 14 at M, 11 at Q.
    assert qr.describe("http://a.b/j/x") == "version 1 (21x21 modules), error correction M"
    assert qr.describe(TYPICAL) == "version 3 (29x29 modules), error correction L"
    assert qr.describe(TYPICAL, least=qr.POSTER_CORRECTION).endswith(("correction Q", "correction H"))


def test_ansi_text_is_white_on_black_whatever_the_terminal():
    lines = qr.terminal_ansi(TYPICAL).splitlines()
    assert all(line.startswith("\x1b[97;40m") and line.endswith("\x1b[0m") for line in lines)
    assert [line[len("\x1b[97;40m") : -len("\x1b[0m")] for line in lines] == qr.terminal_text(TYPICAL).splitlines()


def test_empty_or_overlong_text_is_refused_plainly():
    with pytest.raises(qr.QrError, match="no link"):
        qr.terminal_text("")
    with pytest.raises(qr.QrError, match="too long"):
        qr.terminal_text("x" * 5000)


TITLE = "Air quality on the school walk <& friends>"
AIM = (
    "Find out together where the air on our children's walk to school is worst, "
    "and at what times, so that the council acts on evidence we gathered ourselves."
)


def test_png_poster_decodes_and_carries_title_aim_and_link(tmp_path):
    path = qr.save_png(tmp_path / "poster.png", TYPICAL, TITLE, AIM)
    image = Image.open(path)
    assert decoded(image) == [TYPICAL]
    assert image.info["Title"] == TITLE and image.info["Description"] == AIM and image.info["URL"] == TYPICAL
    # The words are drawn under the code: more lines of ink for a longer aim, none for no words.
    grey = image.convert("L")
    qr_px = (len(qr.modules(TYPICAL, qr.QUIET_ZONE, qr.POSTER_CORRECTION))) * 16
    below = grey.crop((0, qr_px, grey.width, grey.height))
    ink_rows = sum(1 for y in range(below.height) if below.crop((0, y, below.width, y + 1)).getextrema()[0] < 128)
    assert ink_rows > 60
    short = Image.open(BytesIO(qr.poster_png(TYPICAL, "T", "A")))
    assert short.height < image.height


def test_svg_poster_is_xml_with_escaped_text_and_modules_that_decode(tmp_path):
    path = qr.save_svg(tmp_path / "poster.svg", TYPICAL, TITLE, AIM)
    root = ET.parse(path).getroot()
    texts = {
        kind: " ".join(t.text for t in root.iter(f"{SVG}text") if t.get("class") == kind) for kind in ("title", "text", "link")
    }
    assert texts == {"title": TITLE, "text": AIM, "link": TYPICAL}
    assert root.find(f"{SVG}title").text == TITLE
    # Draw the rectangles back into an image and read them with the decoder.
    px, border = int(root.get("data-module-px")), int(root.get("data-border"))
    size = int(root.get("data-modules"))
    assert size == len(qr.make_qr(TYPICAL, qr.POSTER_CORRECTION).modules)
    group = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "qr")
    rects = [(int(r.get("x")), int(r.get("y")), int(r.get("width")), int(r.get("height"))) for r in group]
    left = min(x for x, _, _, _ in rects) - border * px
    image = Image.new("L", ((size + 2 * border) * px, (size + 2 * border) * px), 255)
    dark = 0
    for x, y, w, h in rects:
        image.paste(0, (x - left, y, x - left + w, y + h))
        dark += w // px
    assert dark == sum(map(sum, qr.modules(TYPICAL, 0, qr.POSTER_CORRECTION)))
    assert decoded(image) == [TYPICAL]


def test_poster_by_name_and_refusals(tmp_path):
    assert qr.save_poster(tmp_path / "a.SVG", TYPICAL, "T", "A").read_bytes().startswith(b"<?xml")
    assert qr.save_poster(tmp_path / "b.png", TYPICAL, "T", "A").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(qr.QrError, match=r"\.png or \.svg"):
        qr.save_poster(tmp_path / "c.pdf", TYPICAL, "T", "A")
    with pytest.raises(qr.QrError, match="does not exist"):
        qr.save_png(tmp_path / "missing" / "p.png", TYPICAL, "T", "A")
    with pytest.raises(qr.QrError, match="is a folder"):
        qr.save_png(tmp_path, TYPICAL, "T", "A")
    with pytest.raises(qr.QrError, match="permission denied"):
        qr.save_png(unwritable_folder(tmp_path) / "p.png", TYPICAL, "T", "A")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.SVG", "b.png"]  # no temporary file left


def test_a_failed_write_keeps_the_old_poster(tmp_path, monkeypatch):
    path = qr.save_svg(tmp_path / "p.svg", TYPICAL, "Old", "A")
    before = path.read_bytes()

    def full_disk(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(qr.os, "replace", full_disk)
    with pytest.raises(qr.QrError, match="disk is full"):
        qr.save_svg(path, TYPICAL, "New", "A")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["p.svg"]

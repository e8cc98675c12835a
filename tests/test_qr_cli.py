"""`citizen qr` and `citizen invite ...` end to end: what a coordinator types, sees and gets."""

from __future__ import annotations

import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from citizen.cli import main
from citizen.services import open_study
from citizen.store import DataFolder

from .support.commands import citizen_command
from .support.factories import STUDY
from .support.qr_images import decoded, terminal_image, unwritable_folder

BASE = "http://192.168.100.200:8080"


def run(data: Path, *args: str, capsys) -> tuple[int, str, str]:
    code = main(["--data", str(data), *args])
    out, err = capsys.readouterr()
    return code, out, err


def invites(data: Path, capsys) -> list[dict]:
    code, out, _ = run(data, "invite", "list", STUDY, "--json", capsys=capsys)
    assert code == 0
    return json.loads(out)


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def demo(demo_data_path: Path) -> Path:
    return demo_data_path


def test_create_list_qr_and_close_an_invite(demo, capsys, tmp_path):
    before = {i["label"] for i in invites(demo, capsys)}
    assert before == {"library poster", "health centre waiting room"}
    code, out, err = run(
        demo, "invite", "create", STUDY, "market stall", "--limit", "25", "--expires", "2099-12-31", capsys=capsys
    )
    assert code == 0 and "market stall" in out and not err
    made = next(i for i in invites(demo, capsys) if i["label"] == "market stall")
    assert made["status"] == "open" and made["limit"] == 25 and made["uses"] == 0
    assert made["expires_at"].startswith("2099-12-3") and len(made["token"]) >= 22

    code, out, _ = run(demo, "qr", STUDY, "--invite", "market stall", "--url-base", BASE + "/", capsys=capsys)
    assert code == 0
    art, _, last = out.rstrip("\n").rpartition("\n")
    link = f"{BASE}/j/{made['token']}"
    assert last == f"Invite 'market stall': {link}"
    assert decoded(terminal_image(art)) == [link]  # piped output: plain half blocks, no colour codes
    assert "\x1b" not in art

    png, svg = tmp_path / "poster.png", tmp_path / "poster.svg"
    assert run(demo, "qr", STUDY, "--invite", "market stall", "--png", str(png), "--url-base", BASE, capsys=capsys)[0] == 0
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(png))] == [link]
    code, out, _ = run(demo, "qr", STUDY, "--invite", "market stall", "--svg", str(svg), "--url-base", BASE, capsys=capsys)
    assert code == 0 and str(svg) in out
    with DataFolder(demo, readonly=True) as folder:
        record = open_study(folder, STUDY).repo.study()
    words = " ".join(t.text for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}text"))
    assert words == f"{record.title} {record.shared_aim} {link}"

    code, out, _ = run(demo, "invite", "close", STUDY, "market stall", capsys=capsys)
    assert code == 0 and "closed" in out
    assert next(i for i in invites(demo, capsys) if i["label"] == "market stall")["status"] == "closed"
    code, out, err = run(demo, "qr", STUDY, "--invite", "market stall", capsys=capsys)
    assert code == 1 and not out and "closed" in err and err.count("\n") == 1


def test_the_only_open_invite_is_the_default(demo, capsys):
    code, _, err = run(demo, "qr", STUDY, capsys=capsys)
    assert code == 1 and "2 open invites" in err and "'library poster'" in err and "--invite" in err
    assert run(demo, "invite", "close", STUDY, "health centre waiting room", capsys=capsys)[0] == 0
    code, out, _ = run(demo, "qr", STUDY, "--url-base", BASE, capsys=capsys)
    token = next(i["token"] for i in invites(demo, capsys) if i["label"] == "library poster")
    assert code == 0 and out.rstrip().endswith(f"{BASE}/j/{token}")
    assert run(demo, "invite", "close", STUDY, "library poster", capsys=capsys)[0] == 0
    code, _, err = run(demo, "qr", STUDY, capsys=capsys)
    assert code == 1 and "no open invite" in err and "citizen invite create" in err


def test_the_default_address_is_this_laptops_own(demo, capsys):
    from citizen.web.address import local_address

    code, out, _ = run(demo, "qr", STUDY, "--invite", "library poster", capsys=capsys)
    assert code == 0 and f"http://{local_address()}:8080/j/" in out.splitlines()[-1]


@pytest.mark.parametrize(
    "args, words",
    [
        (["qr", "no-such-study"], "There is no study 'no-such-study'"),
        (["qr", STUDY, "--invite", "bus stop"], "no invite called 'bus stop'"),
        (["qr", STUDY, "--invite", "library poster", "--url-base", "192.168.1.2:8080"], "--url-base must be"),
        (["invite", "create", STUDY, "market stall", "--limit", "ten"], "whole number"),
        (["invite", "create", STUDY, "market stall", "--limit", "0"], "1 or more"),
        (["invite", "create", STUDY, "market stall", "--expires", "31/12/2099"], "is not a date"),
        (["invite", "create", STUDY, "market stall", "--expires", "2001-01-01"], "already passed"),
        (["invite", "create", STUDY, "   "], "needs a label"),
        (["invite", "create", STUDY, "library poster"], "already called 'library poster'"),
        (["invite", "create", "no-such-study", "x"], "There is no study"),
        (["invite", "close", STUDY, "bus stop"], "no invite called 'bus stop'"),
        (["invite", "list", "no-such-study"], "There is no study"),
    ],
)
def test_refusals_are_one_plain_line_and_change_nothing(demo, capsys, args, words):
    before = files_of(demo)
    code, out, err = run(demo, *args, capsys=capsys)
    assert code != 0 and words in err, err
    assert err.startswith("citizen: ") and err.count("\n") == 1 and "Traceback" not in err
    assert files_of(demo) == before


def test_a_poster_that_cannot_be_written_says_why(demo, capsys, tmp_path):
    for path, words in (
        (tmp_path / "missing" / "p.png", "does not exist"),
        (unwritable_folder(tmp_path) / "p.svg", "permission denied"),
        (tmp_path, "is a folder"),
    ):
        flag = "--svg" if path.suffix == ".svg" else "--png"
        code, out, err = run(demo, "qr", STUDY, "--invite", "library poster", flag, str(path), capsys=capsys)
        assert code == 1 and words in err and err.count("\n") == 1, err


def test_the_real_command_in_a_terminal_less_process(demo, run_env):
    """The installed script: exit codes and one line on stderr, with --png and --svg exclusive."""
    result = subprocess.run(
        [*citizen_command(), "--data", str(demo), "invite", "list", STUDY],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert "library poster\topen\tused " in result.stdout
    result = subprocess.run(
        [*citizen_command(), "--data", str(demo), "qr", "no-such-study"], env=run_env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    result = subprocess.run(
        [*citizen_command(), "--data", str(demo), "qr", STUDY, "--png", "a.png", "--svg", "a.svg"],
        env=run_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "not allowed with" in result.stderr

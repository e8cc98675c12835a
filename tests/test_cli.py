"""The command line as a script would use it: exit codes, one plain line, nothing changed on failure."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from citizen.cli import main

from .support.commands import citizen_command


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def test_demo_then_list_as_json(data_path, capsys):
    assert main(["--data", str(data_path), "demo", "--no-open", "--participants", "10", "--contributions", "30"]) == 0
    assert main(["--data", str(data_path), "study", "list", "--json"]) == 0
    out = capsys.readouterr().out
    listing = json.loads(out[out.index("[") :])
    assert listing[0]["id"] == "air-quality-walk" and listing[0]["participants"] == 10
    assert main(["--data", str(data_path), "study", "list"]) == 0
    assert capsys.readouterr().out.strip() == "air-quality-walk"


def test_a_second_demo_gets_its_own_id(data_path, capsys):
    for _ in range(2):
        assert main(["--data", str(data_path), "demo", "--no-open", "--participants", "3", "--contributions", "3"]) == 0
    main(["--data", str(data_path), "study", "list"])
    assert capsys.readouterr().out.split()[-2:] == ["air-quality-walk", "air-quality-walk-2"]


def test_import_export_round_trip(data_path, demo_file, tmp_path, capsys):
    assert main(["--data", str(data_path), "study", "import", str(demo_file)]) == 0
    out = tmp_path / "shared.json"
    assert main(["--data", str(data_path), "study", "export", "air-quality-walk", str(out)]) == 0
    assert main(["--data", str(data_path), "study", "import", str(out), "--id", "copy"]) == 0
    from citizen.services import open_study
    from citizen.store import DataFolder

    with DataFolder(data_path) as data:
        original = open_study(data, "air-quality-walk").repo
        copy = open_study(data, "copy").repo
        assert copy.current_protocol().fields == original.current_protocol().fields
        assert copy.current_protocol().consent.items == original.current_protocol().consent.items
        assert "imported from shared.json" in copy.study().source


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", "not valid JSON"),
        ('{"format": "citizen-protocol", "schema": 1}', "study: this is required but missing"),
        ('{"format": "citizen-protocol", "schema": 7, "study": {}, "protocol": {}}', "newer citizen"),
    ],
)
def test_a_bad_protocol_file_is_refused_and_changes_nothing(data_path, demo_file, tmp_path, capsys, content, words):
    assert main(["--data", str(data_path), "study", "import", str(demo_file)]) == 0
    before = snapshot(data_path)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["--data", str(data_path), "study", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert str(bad) in err and words in err
    assert snapshot(data_path) == before


def test_missing_file_and_unknown_study(data_path, capsys):
    assert main(["--data", str(data_path), "study", "import", "/nonexistent/x.json"]) == 1
    assert "there is no such file" in capsys.readouterr().err
    assert main(["--data", str(data_path), "study", "export", "nope", "/tmp/x.json"]) == 1
    assert "There is no study 'nope'" in capsys.readouterr().err


def test_check_reports_damage_and_restores_the_last_good_copy(data_path, capsys):
    assert main(["--data", str(data_path), "demo", "--no-open", "--participants", "5", "--contributions", "10"]) == 0
    assert main(["--data", str(data_path), "check"]) == 0
    seg = data_path / "studies" / "air-quality-walk" / "audit" / "000000.json"
    assert seg.with_name("000000.json.bak").exists()
    seg.write_bytes(seg.read_bytes()[: len(seg.read_bytes()) // 2])
    capsys.readouterr()
    assert main(["--data", str(data_path), "check"]) == 1
    err = capsys.readouterr().err
    assert "000000.json is damaged: it is not complete JSON" in err and "--restore" in err
    assert main(["--data", str(data_path), "study", "list", "--json"]) == 0
    assert "cannot be opened" in capsys.readouterr().out
    assert main(["--data", str(data_path), "check", "--restore"]) == 0
    assert list(seg.parent.glob("000000.json.damaged-*"))


def test_a_locked_data_folder_gets_a_plain_message(data_path, run_env):
    from citizen.store import DataFolder

    with DataFolder(data_path):
        out = subprocess.run(
            [*citizen_command(), "--data", str(data_path), "demo", "--no-open"],
            capture_output=True,
            text=True,
            env=run_env,
            timeout=60,
        )
    assert out.returncode == 1
    assert out.stderr.startswith("citizen: Another copy of citizen is already using")
    assert "Traceback" not in out.stderr


def test_a_data_folder_that_is_a_file(tmp_path, capsys):
    afile = tmp_path / "file"
    afile.write_text("")
    assert main(["--data", str(afile), "demo", "--no-open"]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in ("demo", "study", "check"):
        assert command in out

"""`citizen export` and `citizen report` from the command line: check first, --yes to write."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

from citizen.cli import main
from tests.support.commands import citizen_command

from .support.factories import STUDY


def test_without_yes_the_check_is_printed_and_nothing_is_written(demo_data_path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(demo_data_path) for p in demo_data_path.rglob("*") if p.name != ".lock")
    code = main(["--data", str(demo_data_path), "export", STUDY, "--shift-dates"])
    out, err = capsys.readouterr()
    assert code == 3
    assert "What will leave this laptop" in out and "Dates are shifted" in out and "Free-text fields included" in out
    assert err.count("\n") == 1 and "--yes" in err and "Nothing was written" in err
    assert not (tmp_path / "exports").exists()
    after = sorted(p.relative_to(demo_data_path) for p in demo_data_path.rglob("*") if p.name != ".lock")
    assert before == after


def test_with_yes_the_demo_exports_in_one_command(demo_data_path, tmp_path, run_env):
    env = dict(run_env)
    done = subprocess.run(
        [
            *citizen_command(),
            "--data",
            str(demo_data_path),
            "--as",
            "Amina Yusuf",
            "export",
            STUDY,
            "--yes",
            "--hash-codes",
            "--bom",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "exports").exists()  # not where the command was run: beside the data
    [folder] = list((demo_data_path / "exports" / STUDY).iterdir())
    assert folder.name.startswith(f"{STUDY}-") and folder.name.endswith("Z")
    assert sorted(os.listdir(folder)) == [
        "activity.csv",
        "consent_log.csv",
        "contributions.csv",
        "data_dictionary.csv",
        "datapackage.json",
        "participants.csv",
    ]
    assert f"Exported to {folder}" in done.stdout
    manifest = json.loads((folder / "datapackage.json").read_text())
    assert manifest["approved_by"] == "Amina Yusuf" and manifest["options"]["hash_codes"] is True
    with (folder / "contributions.csv").open(newline="", encoding="utf-8-sig") as fh:
        assert len(list(csv.DictReader(fh))) == manifest["rows"]["contributions.csv"] > 0


def test_plain_errors_and_exit_codes(demo_data_path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = ["--data", str(demo_data_path)]
    assert main([*data, "export", "nope", "--yes", "--approved-by", "A"]) == 1
    assert "no study 'nope'" in capsys.readouterr().err
    assert main([*data, "export", STUDY, "--yes"]) == 1
    err = capsys.readouterr().err
    assert "who approves" in err and err.count("\n") == 1
    assert main([*data, "export", STUDY, "--from", "2026-05-09", "--to", "2026-05-01"]) == 1
    assert "starts (2026-05-09) after it ends" in capsys.readouterr().err
    assert main([*data, "export", STUDY, "--review", "maybe"]) == 1
    assert "cannot be used" in capsys.readouterr().err
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("keep")
    assert main([*data, "--as", "A", "export", STUDY, "--yes", "--out", str(taken)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert not (tmp_path / "exports").exists() and not (demo_data_path / "exports").exists()


def test_redcap_and_report_commands(demo_data_path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    data = ["--data", str(demo_data_path)]
    out = tmp_path / "for-redcap"
    assert main([*data, "export", STUDY, "--yes", "--approved-by", "Tom Hale", "--format", "redcap", "--out", str(out)]) == 0
    assert (out / "redcap_records.csv").exists() and (out / "redcap_data_dictionary.csv").exists()
    assert main([*data, "report", STUDY]) == 0
    [report] = list((demo_data_path / "exports" / STUDY).glob("*-report-*.md"))
    assert f"written to {report}." in capsys.readouterr().out
    assert report.read_text(encoding="utf-8").startswith("# Clean Air Walks in Northgate")
    assert main([*data, "report", STUDY, "--out", str(tmp_path / "r.md")]) == 0
    assert Path(tmp_path / "r.md").exists()


def test_the_approver_named_by_the_command_wins_over_the_global_name(demo_data_path, tmp_path):
    out = tmp_path / "approved"
    assert (
        main(
            [
                "--data",
                str(demo_data_path),
                "--as",
                "Li Wei",
                "export",
                STUDY,
                "--yes",
                "--approved-by",
                "Tom Hale",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads((out / "datapackage.json").read_text(encoding="utf-8"))["approved_by"] == "Tom Hale"

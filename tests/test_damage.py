"""Damaged files on open: reported in plain words, the last good copy offered, nothing overwritten.

Each kind of damage (empty, truncated, garbage, a newer schema, valid JSON of the wrong shape) is
put into a table segment, the journal and laptop.json of a demo data folder, then met through the
command line (`citizen check`, `citizen check --restore`, `citizen study list`) and the terminal app.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Static

from citizen.cli import main
from citizen.store import DataFolder, StoreDamaged
from citizen.store.segments import load_segment
from citizen.tui.app import make_app, run_app
from citizen.tui.screens.overview import StudyOverviewScreen
from citizen.tui.screens.studies import StudiesScreen

from .support.factories import STUDY

TARGETS = {
    "segment": f"studies/{STUDY}/contributions/000000.json",
    "journal": f"studies/{STUDY}/journal.jsonl",
    "laptop": "laptop.json",
}
KINDS = ["empty", "truncated", "garbage", "newer", "shape"]
REASONS = {
    ("segment", "empty"): "the file is empty",
    ("segment", "truncated"): "not complete JSON",
    ("segment", "garbage"): "not complete JSON",
    ("segment", "newer"): "written by a newer citizen",
    ("segment", "shape"): "does not have the shape of a citizen table file",
    ("journal", "empty"): "the file is empty",
    ("journal", "truncated"): "its first line is not a journal header",
    ("journal", "garbage"): "its first line is not a journal header",
    ("journal", "newer"): "written by a newer citizen",
    ("journal", "shape"): "its first line is not a journal header",
    ("laptop", "empty"): "not complete JSON",
    ("laptop", "truncated"): "not complete JSON",
    ("laptop", "garbage"): "not complete JSON",
    ("laptop", "newer"): "written by a newer citizen",
    ("laptop", "shape"): "does not hold a laptop id",
}


def damaged_bytes(target: str, kind: str, original: bytes) -> bytes:
    if kind == "empty":
        return b""
    if kind == "truncated":
        return original[: len(original) // 2]
    if kind == "garbage":
        return b"\x00\xff\xfenot ours at all\x13\n\x01"
    if kind == "newer":
        if target == "segment":
            data = json.loads(original)
            data["_meta"]["1"]["schema"] = 99
            return json.dumps(data).encode()
        if target == "journal":
            return b'{"citizen-journal": 99}\n'
        return json.dumps({"laptop": json.loads(original)["laptop"], "schema": 99}).encode()
    return {"segment": b'{"contributions": [1, 2, 3]}', "journal": b'["not", "a", "header"]\n', "laptop": b'{"laptop": 5}'}[
        target
    ]


def damage(data_path: Path, target: str, kind: str) -> tuple[Path, bytes]:
    path = data_path / TARGETS[target]
    bad = damaged_bytes(target, kind, path.read_bytes())
    path.write_bytes(bad)
    return path, bad


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("kind", KINDS)
def test_damage_is_reported_by_check_and_restored_on_request(demo_data_path, capsys, target, kind):
    path, bad = damage(demo_data_path, target, kind)
    assert main(["--data", str(demo_data_path), "check"]) == 1
    err = capsys.readouterr().err
    assert f"{path} is damaged: " in err and REASONS[target, kind] in err
    assert "Traceback" not in err
    restorable = kind != "newer"
    assert ("citizen check --restore" in err) == restorable
    assert path.read_bytes() == bad  # reporting never rewrites

    # Every other command says the same in one plain line, or lists the study with its problem.
    code = main(["--data", str(demo_data_path), "study", "list", "--json"])
    out = capsys.readouterr()
    if target == "laptop":
        assert code == 1 and out.err.count("\n") == 1 and REASONS[target, kind] in out.err
    else:
        assert code == 0
        listing = json.loads(out.out)
        assert REASONS[target, kind] in listing[0]["problem"]
    assert path.read_bytes() == bad

    code = main(["--data", str(demo_data_path), "check", "--restore"])
    out = capsys.readouterr()
    if not restorable:
        assert code == 1 and path.read_bytes() == bad
        return
    assert code == 0, out.err
    assert f"restored {path}" in out.out
    kept = list(path.parent.glob(path.name + ".damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == bad  # the damaged file is kept beside
    assert main(["--data", str(demo_data_path), "check"]) == 0
    assert main(["--data", str(demo_data_path), "study", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert listing[0]["problem"] is None and listing[0]["participants"] == 40


def test_a_record_of_the_wrong_shape_is_found_by_check(demo_data_path, capsys):
    seg = demo_data_path / TARGETS["segment"]
    data = json.loads(seg.read_bytes())
    first = next(iter(data["contributions"]))
    del data["contributions"][first]["submitted_at"]
    data["contributions"][first]["values"] = "not answers"
    seg.write_text(json.dumps(data))
    assert main(["--data", str(demo_data_path), "check"]) == 1
    err = capsys.readouterr().err
    assert f"record {first} is not a valid contributions record" in err
    assert main(["--data", str(demo_data_path), "check", "--restore"]) == 0
    capsys.readouterr()
    assert main(["--data", str(demo_data_path), "check"]) == 0


def test_the_journal_keeps_its_readable_changes_when_restored(demo_data_path, capsys):
    from citizen.domain.models import ConsentMethod
    from citizen.services import enrol_participant, open_study

    from .support.harness import ANSWERS

    with DataFolder(demo_data_path) as data:
        study = open_study(data, STUDY)
        codes = [enrol_participant(study, ANSWERS, ConsentMethod.phone, "volunteer").code for _ in range(3)]
        study.store.journal.close()
        study.store.journal.reset = lambda: None  # leave the changes in the journal, as a power cut would
        data._stores.clear()
    journal = demo_data_path / TARGETS["journal"]
    lines = journal.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"participant enrolled", b"participant enrolleX")  # damage change 2 of 3
    journal.write_bytes(b"\n".join(lines))
    assert main(["--data", str(demo_data_path), "check"]) == 1
    assert "change 2 is corrupt and later changes follow it" in capsys.readouterr().err
    assert main(["--data", str(demo_data_path), "check", "--restore"]) == 0
    capsys.readouterr()
    with DataFolder(demo_data_path) as data:
        study = open_study(data, STUDY)
        kept = [p.code for p in study.repo.participants()]
    assert codes[0] in kept and codes[1] not in kept and len(kept) == 41


def test_an_old_schema_file_is_migrated(data_path):
    """A schema 0 segment (records under TinyDB's '_default') reads as schema 1, and is rewritten so."""
    from citizen.store import StudyStore, transaction

    folder = data_path / "s" / "contributions"
    folder.mkdir(parents=True)
    old = {
        "_meta": {"1": {"schema": 0, "table": "contributions", "segment": 0}},
        "_default": {"1": {"id": "c1", "n": 1}, "2": {"id": "c2", "n": 2}},
    }
    (folder / "000000.json").write_text(json.dumps(old))
    store = StudyStore(data_path / "s")
    assert [d["id"] for d in store.table("contributions")] == ["c1", "c2"]
    assert json.loads((folder / "000000.json").read_text())["_meta"]["1"]["schema"] == 0  # read only
    with transaction(store) as tx:
        tx.insert("contributions", {"id": "c3", "n": 3})
    store.close()
    new = load_segment(folder / "000000.json", "contributions")
    assert new["_meta"]["1"]["schema"] == 1 and "_default" not in json.loads((folder / "000000.json").read_text())
    assert [d["id"] for d in new["contributions"].values()] == ["c1", "c2", "c3"]
    assert json.loads((folder / "000000.json.bak").read_text()) == old  # the old file is the last good copy


def test_an_old_file_that_cannot_be_migrated_is_reported(data_path):
    folder = data_path / "s" / "contributions"
    folder.mkdir(parents=True)
    (folder / "000000.json").write_text(json.dumps({"_meta": {"1": {"schema": 0}}, "_default": {}}))
    with pytest.raises(StoreDamaged, match="cannot be brought from schema 0 to 1"):
        load_segment(folder / "000000.json", "contributions")


# -- the terminal app ------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["segment", "journal"])
async def test_the_app_lists_a_damaged_study_and_will_not_open_it(demo_data_path, target):
    path, bad = damage(demo_data_path, target, "garbage")
    app = make_app(demo_data_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        problem = str(app.screen.query_one("#studies-problem", Static).render())
        assert "is damaged" in problem and "citizen check --restore" in problem
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, StudiesScreen)
        assert any("cannot be opened" in n.message for n in app._notifications)
    app.data.close()
    assert path.read_bytes() == bad


async def test_a_file_damaged_while_the_app_runs_gives_a_plain_message(demo_data_path):
    app = make_app(demo_data_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()  # the list has read the study, but not yet its consent events
        seg = demo_data_path / f"studies/{STUDY}/consent_events/000000.json"
        seg.write_bytes(seg.read_bytes()[:100])
        await pilot.press("enter")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, StudiesScreen)  # back where the person can act
        [note] = [n for n in app._notifications if n.title == "This study cannot be shown"]
        assert f"{seg} is damaged: it is not complete JSON" in note.message
        assert "citizen check --restore" in note.message
        assert app.is_running
    app.data.close()


async def test_opening_a_study_on_the_command_line_that_is_damaged(demo_data_path):
    damage(demo_data_path, "segment", "empty")
    app = make_app(demo_data_path, study_id=STUDY)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert not isinstance(app.screen, StudyOverviewScreen)
        assert any("the file is empty" in n.message for n in app._notifications)
    app.data.close()


def test_the_app_refuses_a_damaged_laptop_file_in_one_line(demo_data_path, capsys):
    path, bad = damage(demo_data_path, "laptop", "shape")
    assert run_app(demo_data_path) == 1
    err = capsys.readouterr().err
    assert err.startswith("citizen: ") and err.count("\n") == 1 and "does not hold a laptop id" in err
    assert path.read_bytes() == bad
    DataFolder(demo_data_path, repairing=True).close()  # the lock was released


def test_a_damaged_last_good_copy_is_not_put_back(demo_data_path, capsys):
    path, bad = damage(demo_data_path, "segment", "garbage")
    backup = path.with_name(path.name + ".bak")
    backup.write_bytes(b"{also broken")
    assert main(["--data", str(demo_data_path), "check", "--restore"]) == 1
    err = capsys.readouterr().err
    assert f"cannot restore {path}: The last good copy" in err and "damaged too" in err
    assert f"{path} is damaged: it is not complete JSON" in err  # still reported, still there
    assert path.read_bytes() == bad and backup.read_bytes() == b"{also broken"

"""Invite links (join links, the ones on QR posters) kept as fingerprints and sealed with this
laptop's key (issue 18): the laptop that made an invite shows its QR code again and checks links;
a copy of the data folder, a bundle or a hub checks links but can neither open the join page by
itself nor show the link; older folders are converted on open, said plainly."""

from __future__ import annotations

import asyncio
import gzip
import os
import shutil
import stat
from pathlib import Path

import pytest

from citizen.cli import main
from citizen.export.bundle import export_bundle
from citizen.services import Refused, create_invite, import_protocol, open_study
from citizen.services.invite_links import LinkNotHere, invite_token
from citizen.store import DataFolder, key_path, transaction
from citizen.store.derived import SegmentIndex

from .support.web import enrol, fetch, phone, served

STUDY = "air-quality-walk"
BASE = "http://192.168.100.200:8080"


def on_disk(folder: Path) -> bytes:
    return b"\n".join(f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file() and f.name != ".lock")


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def cli(data: Path, *args: str, capsys) -> tuple[int, str, str]:
    code = main(["--data", str(data), *args])
    out, err = capsys.readouterr()
    return code, out, err


async def joins(study, token: str) -> str:
    """A phone opens the poster's link and joins; returns its private link."""
    async with served(study) as server, phone() as p:
        status, _ = await fetch(p, server.join_url(token))
        assert status == 200
        link, _ = await enrol(p, server, token)
        return link


def make_old_folder(path: Path, demo_file: Path) -> str:
    """A data folder as versions before sealed invites left it: the poster's token stored as it is,
    in the segment, its last good copy, the journal and an index."""
    with DataFolder(path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        invite = create_invite(study, "library poster", "Amina Yusuf")
        table = study.store.table("invites")
        row = table.find_row(invite.id)
        old = {k: v for k, v in table.get(row).items() if k not in ("fingerprint", "sealed")}
        with transaction(study.store) as tx:
            tx.put("invites", row, dict(old, token=invite.token))
        study.store.compact()
        with transaction(study.store) as tx:
            tx.put("invites", row, dict(old, token=invite.token, uses=0))
        study.store.compact()  # the .bak holds the token too
        SegmentIndex(table, "token").build()  # the index older versions kept of invite tokens
        assert invite.token.encode() in on_disk(path)
        return invite.token


@pytest.fixture
def other_laptop(tmp_path) -> Path:
    """The key file of another laptop (none there yet): set CITIZEN_KEY_FILE to it to be that laptop."""
    return tmp_path / "other-laptop" / "key"


# -- made here: shown here, never stored as it is -----------------------------------------------------
def test_a_new_invite_is_stored_sealed_and_this_laptop_shows_the_same_link_again(data_path, demo_file, capsys):
    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        made = create_invite(study, "library poster", "Amina Yusuf")
        link = asyncio.run(joins(study, made.token))
        assert "/p/" in link
        study.store.compact()
    assert made.token.encode() not in on_disk(data_path)
    code, out, _ = cli(data_path, "qr", STUDY, "--url-base", BASE, capsys=capsys)
    assert code == 0 and f"{BASE}/j/{made.token}" in out  # the poster can be printed again, the same
    assert stat.S_IMODE(os.stat(key_path()).st_mode) == 0o600  # readable by its owner only


def test_the_key_lives_in_the_users_config_folder_unless_told_otherwise(monkeypatch, tmp_path):
    monkeypatch.delenv("CITIZEN_KEY_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert key_path() == tmp_path / "config" / "citizen" / "key"
    monkeypatch.setenv("CITIZEN_KEY_FILE", str(tmp_path / "elsewhere"))
    assert key_path() == tmp_path / "elsewhere"


# -- an older folder: converted on open, said plainly; its posters keep working --------------------------
def test_an_older_folder_is_converted_on_open_and_its_poster_still_joins(data_path, demo_file, tmp_path, capsys):
    token = make_old_folder(data_path, demo_file)
    with DataFolder(data_path) as data:
        study = open_study(data, STUDY)
        assert any("1 invite links are now stored as fingerprints, sealed with this laptop's key" in n for n in study.notices)
        assert [e for e in study.repo.audit() if e.action == "invite links sealed"]
        assert "/p/" in asyncio.run(joins(study, token))  # the poster on the wall still enrols people
        bundle = gzip.decompress(export_bundle(study, tmp_path / "study.citizen").path.read_bytes())
        assert not open_study(data, STUDY).notices  # once only
    assert token.encode() not in on_disk(data_path)  # segment, last good copy, journal, index
    assert token.encode() not in bundle
    code, out, _ = cli(data_path, "qr", STUDY, "--url-base", BASE, capsys=capsys)
    assert code == 0 and f"{BASE}/j/{token}" in out  # the laptop that had it shows the same poster


def test_an_older_folder_opened_read_only_is_said_to_be_not_converted_yet_and_is_left_as_it_is(data_path, demo_file, capsys):
    token = make_old_folder(data_path, demo_file)
    before = files_of(data_path)
    code, out, err = cli(data_path, "qr", STUDY, "--url-base", BASE, capsys=capsys)
    assert code == 0 and f"{BASE}/j/{token}" in out  # its poster is shown as before
    assert "its 1 invite links (and any private links from before) are still stored as they are" in err
    assert "open it for writing once" in err
    assert files_of(data_path) == before
    code, out, err = cli(data_path, "invite", "create", STUDY, "market stall", capsys=capsys)  # opened for writing
    assert code == 0 and "now stored as fingerprints" in err
    assert token.encode() not in on_disk(data_path)


# -- a copy elsewhere: checks links, cannot show them ----------------------------------------------------
def test_a_copy_on_another_laptop_lets_phones_join_but_cannot_show_the_link(
    data_path, demo_file, tmp_path, other_laptop, capsys, monkeypatch
):
    with DataFolder(data_path) as data:
        made = create_invite(import_protocol(data, demo_file, "Amina Yusuf"), "library poster", "Amina Yusuf")
    made_here = os.environ["CITIZEN_KEY_FILE"]
    copy = tmp_path / "copy"
    shutil.copytree(data_path, copy)
    monkeypatch.setenv("CITIZEN_KEY_FILE", str(other_laptop))  # the same folder, on a laptop with another key
    code, out, err = cli(copy, "qr", STUDY, "--url-base", BASE, capsys=capsys)
    assert code != 0 and made.token not in out + err
    assert "can only be shown on the laptop that made it" in err and "citizen invite create" in err
    code, out, _ = cli(copy, "invite", "list", STUDY, "--json", capsys=capsys)
    assert code == 0 and '"token": null' in out and made.token not in out
    with DataFolder(copy) as data:
        study = open_study(data, STUDY)
        with pytest.raises(LinkNotHere):
            invite_token(study, study.repo.invites()[0])
        assert "/p/" in asyncio.run(joins(study, made.token))  # a phone with the poster's link joins here too
    monkeypatch.setenv("CITIZEN_KEY_FILE", made_here)  # back on the laptop that made it
    code, out, _ = cli(copy, "qr", STUDY, "--url-base", BASE, capsys=capsys)
    assert code == 0 and f"{BASE}/j/{made.token}" in out


def test_a_bundle_and_a_synced_copy_hold_no_invite_token(data_path, demo_file, tmp_path, hub_db, other_laptop, monkeypatch):
    from citizen.services.merge import merge_bundle

    from .support.bundles import laptop_folder, study_of
    from .support.sync import clone, hub_rows, sync

    old_token = make_old_folder(data_path, demo_file)
    with DataFolder(data_path) as data:
        study = open_study(data, STUDY)
        made = create_invite(study, "market stall", "Amina Yusuf")
        path = export_bundle(study, tmp_path / "study.citizen").path
        sync(data, hub_db)
    tokens = [old_token.encode(), made.token.encode()]
    hub = repr(hub_rows(hub_db)).encode()
    assert not [t for t in tokens if t in gzip.decompress(path.read_bytes()) or t in hub]
    monkeypatch.setenv("CITIZEN_KEY_FILE", str(other_laptop))
    synced, merged = laptop_folder(tmp_path / "synced", "DE"), laptop_folder(tmp_path / "merged", "FG")
    with synced, merged:
        clone(synced, hub_db)
        from citizen.export.bundle import read_bundle

        merge_bundle(merged, read_bundle(path), "Li Wei")
        for folder in (synced, merged):
            copy = study_of(folder)
            assert not [t for t in tokens if t in on_disk(folder.path)]
            for token in (old_token, made.token):  # links are checked there too
                assert copy.repo.invite_by_token(token) is not None
            with pytest.raises(LinkNotHere):
                invite_token(copy, copy.repo.invite_by_token(made.token))
        assert "/p/" in asyncio.run(joins(study_of(synced), old_token))


# -- a key file that cannot be used: said plainly, nothing changed --------------------------------------
@pytest.mark.parametrize("problem", ["damaged", "a folder"])
def test_an_unusable_key_file_is_said_plainly_and_changes_nothing(data_path, demo_file, tmp_path, monkeypatch, capsys, problem):
    token = make_old_folder(data_path, demo_file)
    key = tmp_path / "bad-key"
    if problem == "damaged":
        key.write_text("not a key\n")
    else:
        key.mkdir()  # (the tests run as root: a folder stands for a file that cannot be read)
    monkeypatch.setenv("CITIZEN_KEY_FILE", str(key))
    before = files_of(data_path)
    code, out, err = cli(data_path, "qr", STUDY, "--url-base", BASE, capsys=capsys)  # read-only: shown as before
    assert code == 0 and f"{BASE}/j/{token}" in out
    code, _, err = cli(data_path, "invite", "create", STUDY, "market stall", capsys=capsys)
    assert code != 0 and str(key) in err and "Nothing was changed" in err
    assert "still stored as they are" in err  # and the old folder is not converted without a key
    with DataFolder(data_path) as data:
        study = open_study(data, STUDY)
        with pytest.raises(Refused, match="bad-key"):
            create_invite(study, "market stall", "Amina Yusuf")
        assert [i.label for i in study.repo.invites()] == ["library poster"]
    assert {k: v for k, v in files_of(data_path).items() if "logs" not in k} == {
        k: v for k, v in before.items() if "logs" not in k
    }
    assert (key.read_text() == "not a key\n") if problem == "damaged" else key.is_dir()  # never replaced


def test_a_lost_key_says_the_link_cannot_be_shown_here_and_a_new_invite_makes_a_new_key(
    data_path, demo_file, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("CITIZEN_KEY_FILE", str(tmp_path / "key-to-lose"))  # not the session's key
    with DataFolder(data_path) as data:
        made = create_invite(import_protocol(data, demo_file, "Amina Yusuf"), "library poster", "Amina Yusuf")
    key_path().unlink()
    code, out, err = cli(data_path, "qr", STUDY, "--url-base", BASE, capsys=capsys)
    assert code != 0 and "can only be shown on the laptop that made it" in err and made.token not in out + err
    assert not key_path().exists()  # showing makes no key
    code, _, _ = cli(data_path, "invite", "create", STUDY, "market stall", capsys=capsys)
    assert code == 0 and key_path().exists()
    code, out, _ = cli(data_path, "qr", STUDY, "--invite", "market stall", "--url-base", BASE, capsys=capsys)
    assert code == 0 and f"{BASE}/j/" in out


def test_an_older_laptops_bundle_or_hub_document_leaves_no_invite_token_here(data_path, demo_file, tmp_path):
    import hashlib
    import json

    from citizen.export.bundle import read_bundle
    from citizen.services.merge import merge_bundle
    from citizen.sync.mapping import from_doc, to_body

    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        made = create_invite(study, "library poster", "Amina Yusuf")
        path = export_bundle(study, tmp_path / "new.citizen").path
        record = study.store.table("invites").find(made.id)
    # What an older laptop wrote: the invite's token as it is, in a bundle and on a hub.
    older = {k: v for k, v in record.items() if k not in ("fingerprint", "sealed")} | {"token": made.token}
    header, _, body = gzip.decompress(path.read_bytes()).partition(b"\n")
    old_body = body.replace(json.dumps(record, separators=(",", ":")).encode(), json.dumps(older).encode())
    assert made.token.encode() in old_body
    head = json.loads(header) | {"sha256": hashlib.sha256(old_body).hexdigest()}
    old = tmp_path / "old.citizen"
    old.write_bytes(gzip.compress(json.dumps(head).encode() + b"\n" + old_body))
    other = tmp_path / "other"
    with DataFolder(other) as data:
        merge_bundle(data, read_bundle(old), "Li Wei")
        assert open_study(data, STUDY).repo.invite_by_token(made.token).id == made.id
    assert made.token.encode() not in on_disk(other)
    third = tmp_path / "third"  # the command line reads the file as a stream
    assert main(["--data", str(third), "bundle", "import", str(old), "--yes"]) == 0
    assert made.token.encode() not in on_disk(third)
    _, received = from_doc(dict(to_body("invites", older), _id=f"invite:{made.id}", _rev="1-x"))
    assert "token" not in received and received["fingerprint"] == record["fingerprint"]

"""Private links (issue 18, finding 6): only their fingerprints are stored, older data is migrated on
open, and a lost link is replaced by a new one while the old one stops at once."""

from __future__ import annotations

import gzip
from pathlib import Path

from citizen.domain.models import ConsentMethod
from citizen.export.bundle import export_bundle
from citizen.services import create_invite, enrol_participant, open_study
from citizen.store import DataFolder, transaction

from .support.web import CONSENT, WALK, enrol, fetch, path_of, phone, send, served

ANSWERS = {k: v == "yes" for k, v in CONSENT.items()}


def everything_on_disk(folder: Path) -> bytes:
    return b"\n".join(f.read_bytes() for f in sorted(folder.rglob("*")) if f.is_file() and f.name != ".lock")


async def test_a_copy_of_the_data_folder_or_a_bundle_cannot_open_anyones_page(study, invite, data_path, tmp_path):
    async with served(study) as server, phone() as p:
        link, _ = await enrol(p, server, invite.token)
        token = link.rsplit("/", 1)[1]
        status, _ = await fetch(p, link)
        assert status == 200  # the laptop still checks the link
    desk = enrol_participant(study, ANSWERS, ConsentMethod.phone, "phone", invite_token=invite.token)
    study.store.compact()
    on_disk = everything_on_disk(data_path)
    bundle = gzip.decompress(export_bundle(study, tmp_path / "study.citizen").path.read_bytes())
    for secret in (token, desk.link):
        assert secret.encode() not in on_disk and secret.encode() not in bundle
    assert all(p.token.startswith("sha256:") for p in study.repo.participants())


def make_old_data(data_path: Path, demo_file: Path) -> list[str]:
    """A data folder as versions before fingerprints left it: each participant's token stored as it is."""
    from citizen.services import import_protocol

    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        invite = create_invite(study, "library poster", "Amina Yusuf")
        people = [enrol_participant(study, ANSWERS, ConsentMethod.phone, "phone", invite_token=invite.token) for _ in range(3)]
        table = study.store.table("participants")
        with transaction(study.store) as tx:
            for person in people:
                row = table.find_row(person.id)
                tx.put("participants", row, dict(table.get(row), token=person.link))
        study.store.compact()
        study.store.compact()  # the last good copies (.bak) hold the tokens too
        assert people[0].link.encode() in everything_on_disk(data_path)
        return [p.link for p in people]


async def test_an_older_data_folder_is_migrated_on_open_said_plainly_and_its_links_still_work(data_path, demo_file, run_env):
    import subprocess

    from .support.commands import citizen_command

    links = make_old_data(data_path, demo_file)
    with DataFolder(data_path) as data:
        study = open_study(data, "air-quality-walk")
        assert study.notices and "private links of 3 participants are now stored as fingerprints" in study.notices[0]
        assert [e for e in study.repo.audit() if e.action == "private links stored as fingerprints"]
        async with served(study) as server, phone() as p:
            for token in links:  # the participants' old links still open their pages, and still post
                status, page = await fetch(p, server.private_url(token))
                assert status == 200 and "Your page" in page
            posted, _, _ = await send(p, server.private_url(links[0]), f"/p/{links[0]}/contribute", WALK, server.base_url)
            assert posted == 303
        assert not open_study(data, "air-quality-walk").notices  # once only
    on_disk = everything_on_disk(data_path)
    assert not [t for t in links if t.encode() in on_disk]
    # The command line says it too (here for a folder made old again).
    old = data_path.parent / "old"
    make_old_data(old, demo_file)
    result = subprocess.run(
        [*citizen_command(), "--data", str(old), "invite", "create", "air-quality-walk", "market stall"],
        capture_output=True,
        text=True,
        env=run_env,
    )
    assert "now stored as fingerprints" in result.stderr


async def test_an_older_bundle_merges_with_its_links_as_fingerprints(data, study, invite, tmp_path):
    from citizen.export.bundle import read_bundle
    from citizen.services.merge import merge_bundle

    person = enrol_participant(study, ANSWERS, ConsentMethod.phone, "phone", invite_token=invite.token)
    path = export_bundle(study, tmp_path / "new.citizen").path
    header, _, body = gzip.decompress(path.read_bytes()).partition(b"\n")
    fingerprint = study.repo.participants()[0].token
    old_body = body.replace(fingerprint.encode(), person.link.encode())  # as an older laptop wrote it
    import hashlib
    import json

    head = json.loads(header)
    head["sha256"] = hashlib.sha256(old_body).hexdigest()
    old = tmp_path / "old.citizen"
    old.write_bytes(gzip.compress(json.dumps(head).encode() + b"\n" + old_body))
    bundle = read_bundle(old)
    assert bundle.records["participants"][0]["token"] == fingerprint
    report = merge_bundle(data, bundle, "Amina Yusuf")
    assert not report.conflicts
    assert study.repo.participant_by_link(person.link).id == person.id
    assert path_of(f"http://x/p/{person.link}") == f"/p/{person.link}"


# -- a new private link -----------------------------------------------------------------------------
async def test_a_new_link_opens_the_page_and_the_old_one_stops_at_once(study, invite):
    from citizen.services import relink_participant

    async with served(study) as server, phone() as p, phone() as finder:
        old_link, code = await enrol(p, server, invite.token)
        _, old_page = await fetch(finder, old_link)  # someone who found the old link has a form open
        person = study.repo.participant_by_link(old_link.rsplit("/", 1)[1])
        made = relink_participant(study, person.id, "Amina Yusuf")
        new_link = server.private_url(made.link)
        status, page = await fetch(finder, old_link)
        assert status == 404 and code not in page
        from .support.web import form_token

        data = {"csrf": form_token(old_page, path_of(old_link) + "/propose"), "title": "x", "rationale": "y"}
        async with finder.post(old_link + "/propose", data=data) as r:
            assert r.status == 404
        status, page = await fetch(p, new_link)
        assert status == 200 and code in page
        posted, _, _ = await send(p, new_link, path_of(new_link) + "/contribute", WALK, server.base_url)
        assert posted == 303
    assert not study.repo.proposals() and study.repo.contribution_count() == 1
    assert [e for e in study.repo.audit() if e.action == "private link replaced" and e.target == code]


def test_citizen_participant_relink_prints_the_new_link_and_its_code(data_path, demo_file, run_env):
    import subprocess

    from citizen.domain.models import link_fingerprint
    from citizen.services import import_protocol

    from .support.commands import citizen_command
    from .support.qr_images import decoded, terminal_image

    with DataFolder(data_path) as data:
        study = import_protocol(data, demo_file, "Amina Yusuf")
        person = enrol_participant(study, ANSWERS, ConsentMethod.phone, "phone")
    result = subprocess.run(
        [
            *citizen_command(),
            "--data",
            str(data_path),
            "participant",
            "relink",
            "air-quality-walk",
            person.code.lower(),
            "--url-base",
            "http://192.168.1.20:8080",
        ],
        capture_output=True,
        text=True,
        env=run_env,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    link = lines[-1].rsplit(": ", 1)[1]
    assert link.startswith("http://192.168.1.20:8080/p/") and "old link no longer works" in lines[-1]
    art = "\n".join(x for x in lines[:-1] if x and set(x) <= set("▀▄█ "))
    assert decoded(terminal_image(art)) == [link]
    with DataFolder(data_path) as data:
        stored = open_study(data, "air-quality-walk").repo.participant(person.id)
    assert stored.token == link_fingerprint(link.rsplit("/", 1)[1]) != person.token
    result = subprocess.run(
        [*citizen_command(), "--data", str(data_path), "participant", "relink", "air-quality-walk", "ZZ-ZZZZ"],
        capture_output=True,
        text=True,
        env=run_env,
    )
    assert result.returncode != 0 and "ZZ-ZZZZ" in result.stderr


async def test_a_new_link_is_made_at_the_desk_from_the_participant_screen(demo_data_path):
    from textual.widgets import Static

    from citizen.domain.models import link_fingerprint
    from citizen.tui.app import make_app
    from citizen.tui.dialogs.link import RelinkDialog
    from citizen.tui.screens.participants import ParticipantDetailScreen

    app = make_app(demo_data_path, study_id="air-quality-walk")
    async with app.run_test(size=(80, 24)) as pilot:
        study = app.study("air-quality-walk")
        person = study.repo.participants()[0]
        await pilot.pause()
        app.push_screen(ParticipantDetailScreen("air-quality-walk", person.id))
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, RelinkDialog)
        assert "stops working at once" in str(dialog.query_one("#relink-effects", Static).render())
        assert study.repo.participant(person.id).token == person.token  # nothing changes before it is asked for
        await pilot.press("ctrl+s")
        await pilot.pause()
        link = str(dialog.query_one(".dialog-title", Static).render()).split(": ", 1)[1]
        code = dialog.query_one("#relink-code", Static)
        assert "/p/" in link and "█" in str(code.render())
        screen = app.screen.region  # the whole code shows at 80x24, so a phone can read it off the screen
        assert code.region.height == len(str(code.render()).splitlines()) and screen.contains_region(code.region)
        assert code.region.bottom <= dialog.query_one(".dialog-body").region.bottom
        assert study.repo.participant(person.id).token == link_fingerprint(link.rsplit("/", 1)[1])
        await pilot.press("ctrl+s")  # done
        await pilot.pause()
        assert isinstance(app.screen, ParticipantDetailScreen)

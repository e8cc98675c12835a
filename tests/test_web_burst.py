"""Phones posting at the same moment (issue 16): their contributions are stored together, in fewer
durable changes than there were posts; each phone is answered once its group is on disk; a bad
contribution among them is refused alone, with its own message, and the others are stored."""

from __future__ import annotations

import asyncio
import errno
import threading

from citizen.domain.models import ConsentMethod
from citizen.services import enrol_participant, open_study
from citizen.store import DataFolder, durable
from citizen.web import writer

from .support.factories import YES_ALL
from .support.web import WALK, fetch, form_lang, form_token, pairs, path_of, phone, served

PHONES = 20
BAD = 7  # this phone's answer is refused


async def test_phones_posting_together_are_stored_in_one_change_and_a_bad_one_is_refused_alone(
    data, data_path, study, monkeypatch
):
    people = [enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer") for _ in range(PHONES)]
    changes: list[int] = []  # contributions in each durable change
    study.on_change(lambda ops: changes.append(sum(table == "contributions" for table, _, _ in ops)))
    # The first group is held at the writer's door until every other phone has posted: what a
    # slow disk does while a hall of phones sends at once, made certain for the test.
    release = threading.Event()
    held_group: list[int] = []
    store_each = writer.add_contributions_each

    def held(study, items):
        if not held_group:
            held_group.append(len(items))
            assert release.wait(60)
        return store_each(study, items)

    monkeypatch.setattr(writer, "add_contributions_each", held)
    async with served(study) as server:

        async def post(n: int, link: str) -> tuple[int, str, str]:
            async with phone() as p:
                url = server.private_url(link)
                _, page = await fetch(p, url)
                action = path_of(url) + "/contribute"
                answers = {**WALK, "notes": f"walk of phone {n}"}
                if n == BAD:
                    answers["walk_minutes"] = "lots"
                form = pairs({"csrf": form_token(page, action), "lang": form_lang(page), **answers})
                async with p.post(server.base_url + action, data=form, allow_redirects=False) as r:
                    return r.status, r.headers.get("Location", ""), await r.text()

        sent = [asyncio.create_task(post(n, p.link)) for n, p in enumerate(people)]
        deadline = asyncio.get_running_loop().time() + 120
        while sum(held_group) + server.writer.waiting < PHONES:  # one group held, every other post waiting behind it
            assert not any(task.done() for task in sent), [task.result()[0] for task in sent if task.done()]
            assert asyncio.get_running_loop().time() < deadline, "the phones' posts did not all arrive"
            await asyncio.sleep(0.01)
        assert changes == []  # nothing is acknowledged before it is on disk
        release.set()
        answers = await asyncio.gather(*sent)

    for n, (status, location, page) in enumerate(answers):
        if n == BAD:
            assert status == 422 and 'id="f-walk_minutes-err"' in page and "Please enter a whole number" in page
        else:
            assert status == 303 and location.endswith("?done=contributed"), (n, status)
    stored = PHONES - 1
    assert sum(changes) == stored
    assert len(changes) <= 2 < stored  # the held group and all that gathered behind it

    data.close()  # reopened from disk: each acknowledged one there once, the refused one not at all
    with DataFolder(data_path) as again:
        reopened = open_study(again, study.id)
        notes = [doc["values"].get("notes") for doc in reopened.repo.contribution_docs()]
        assert sorted(notes) == sorted(f"walk of phone {n}" for n in range(PHONES) if n != BAD)
        added = [a for a in reopened.repo.audit() if a.action == "contribution added"]
        assert len(added) == stored and {a.actor for a in added} == {p.code for n, p in enumerate(people) if n != BAD}


async def test_a_group_that_cannot_be_written_acknowledges_none_of_it(data, data_path, study, monkeypatch):
    """A full disk while a group is written: each of its phones is told it may not be saved, none of
    it is stored; the groups after it are stored and acknowledged as usual."""
    people = [enrol_participant(study, YES_ALL, ConsentMethod.phone, "volunteer") for _ in range(8)]
    groups: list[int] = []
    store_each = writer.add_contributions_each
    real_write = durable.write_all

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def first_group_fails(study, items):
        groups.append(len(items))
        if len(groups) != 1:
            return store_each(study, items)
        monkeypatch.setattr(durable, "write_all", full_disk)
        try:
            return store_each(study, items)
        finally:
            monkeypatch.setattr(durable, "write_all", real_write)

    monkeypatch.setattr(writer, "add_contributions_each", first_group_fails)
    async with served(study) as server:

        async def post(n: int, link: str) -> int:
            async with phone() as p:
                url = server.private_url(link)
                _, page = await fetch(p, url)
                action = path_of(url) + "/contribute"
                form = pairs({"csrf": form_token(page, action), "lang": form_lang(page), **WALK, "notes": f"walk {n}"})
                async with p.post(server.base_url + action, data=form, allow_redirects=False) as r:
                    page = await r.text()
                    if r.status == 500:
                        assert "may not have been saved" in page
                    return r.status

        statuses = await asyncio.gather(*(post(n, p.link) for n, p in enumerate(people)))
        statuses += [await post(len(people), people[0].link)]  # and the next one is stored again
    assert len(groups) >= 2 and statuses[-1] == 303
    assert statuses.count(500) == groups[0] and set(statuses) <= {303, 500}
    acknowledged = {f"walk {n}" for n, status in enumerate(statuses) if status == 303}
    data.close()
    with DataFolder(data_path) as again:
        notes = [doc["values"].get("notes") for doc in open_study(again, study.id).repo.contribution_docs()]
    assert sorted(notes) == sorted(acknowledged)

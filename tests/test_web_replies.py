"""Replies to the team's feedback from a volunteer's own page, over real HTTP: kept, gated, never exported."""

from __future__ import annotations

import html
import re

import pytest

from citizen.export.plan import make_options, prepare_export
from citizen.export.run import export_data
from citizen.services import give_feedback
from citizen.services.design import change_status
from citizen.services.merge.joins import join_contribution

from .support.web import WALK, enrol, fetch, leave, path_of, phone, send, served

REPLY_FORM = re.compile(
    r'<form method="post" action="(/p/[^"?]+/r/[0-9a-f-]{36})[^"]*" class="reply-form" novalidate>(.*?)</form>', re.S
)
ANSWER = "The crossing by the bus station, at 8 in the morning."


async def with_feedback(p, server, study, invite, *texts):
    """A volunteer who joined and contributed over HTTP, and the team's feedback on it."""
    link, code = await enrol(p, server, invite.token)
    status, _, _ = await send(p, link, path_of(link) + "/contribute", WALK, server.base_url)
    assert status == 303
    (c,) = study.repo.contributions_of(study.repo.participant_by("code", code).id)
    for text in texts:
        give_feedback(study, c.id, text, "Amina Yusuf")
    return link, code, c.id


def reply_forms(page: str) -> list[tuple[str, str, str]]:
    """(action, csrf token, feedback answered) of each reply form, in page order."""
    hidden = re.compile(r'<input type="hidden" name="(csrf|to)" value="([^"]+)">')
    forms = []
    for action, body in REPLY_FORM.findall(page):
        values = dict(hidden.findall(body))
        forms.append((action, values["csrf"], html.unescape(values["to"])))
    return forms


async def post(p, server, form, text: str, **overrides):
    action, token, to = form
    data = {"csrf": token, "to": to, "reply": text, **overrides}
    async with p.post(server.base_url + action, data=data, allow_redirects=False) as r:
        return r.status, await r.text(), r.headers.get("Location", "")


def replies(study, cid: str) -> list[tuple[str, str]]:
    c = study.repo.contribution(cid)
    return [(r.text, r.to.isoformat()) for r in c.replies]


async def test_a_volunteer_replies_under_the_feedback_and_reads_the_conversation(study, invite):
    async with served(study) as server, phone() as p:
        link, code, cid = await with_feedback(p, server, study, invite, "Could you say which crossing?", "Thank you!")
        _, page = await fetch(p, link)
        forms = reply_forms(page)
        assert len(forms) == 2 and all(action == f"{path_of(link)}/r/{cid}" for action, _, _ in forms)
        asked, thanked = study.repo.contribution(cid).feedback
        assert page.index("Could you say which crossing?") < page.index(forms[0][1]) < page.index("Thank you!")
        status, _, location = await post(p, server, forms[0], ANSWER)
        assert status == 303 and location.endswith("?done=replied")
        assert replies(study, cid) == [(ANSWER, asked.at.isoformat())]
        status, again, _ = await post(p, server, forms[0], "Once more")  # the same form, sent twice
        assert status == 403 and "already sent" in again
        _, page = await fetch(p, link + "?done=replied")
    assert "Your reply was sent to the study team." in page
    assert page.index("Could you say which crossing?") < page.index(ANSWER) < page.index("Thank you!")
    assert replies(study, cid) == [(ANSWER, asked.at.isoformat())]
    event = study.repo.audit()[-1]
    assert (event.action, event.actor, event.target, event.details["participant"]) == ("feedback replied", code, cid, code)
    assert "crossing" not in str(event.details)  # the log says a reply came, never its words
    assert study.repo.contribution(cid).replied


@pytest.mark.parametrize(
    "text,words",
    [
        ("   ", "This cannot be left empty."),
        ("x" * 2001, "Please keep this to 2000 characters or fewer (it has 2001)."),
        ("a\x00b", "This answer contains a character that cannot be kept."),
    ],
)
async def test_a_reply_that_cannot_be_kept_is_said_beside_its_box_and_nothing_is_stored(study, invite, text, words):
    async with served(study) as server, phone() as p:
        link, _, cid = await with_feedback(p, server, study, invite, "Which crossing?")
        _, page = await fetch(p, link)
        before = len(study.repo.audit())
        status, page, _ = await post(p, server, reply_forms(page)[0], text)
        assert status == 422
        box = re.search(r'<p class="error" id="(r-[0-9a-f-]+-1)-err">([^<]*)</p>', page)
        assert box and html.unescape(box.group(2)) == words
        assert f'aria-describedby="{box.group(1)}-err" aria-invalid="true"' in page
    assert study.repo.contribution(cid).replies == [] and len(study.repo.audit()) == before


async def test_the_refusal_is_in_the_page_language(study, invite):
    async with served(study) as server, phone("zh") as p:
        link, _, cid = await with_feedback(p, server, study, invite, "哪个路口？")
        _, page = await fetch(p, link)
        assert "回复团队" in page and "发送回复" in page
        status, page, _ = await post(p, server, reply_forms(page)[0], "")
    assert status == 422 and '-err">这里不能空着。</p>' in page
    assert study.repo.contribution(cid).replies == []


async def test_a_reply_to_no_feedback_or_to_someone_else_is_refused_plainly(study, invite):
    async with served(study) as server, phone() as p, phone() as other:
        link, _, cid = await with_feedback(p, server, study, invite, "Which crossing?")
        other_link, _, other_cid = await with_feedback(other, server, study, invite, "Which day?")
        before = len(study.repo.audit())
        for overrides, expected in [
            ({"to": "yesterday"}, 400),  # not a time: the form was not ours
            ({"to": "2020-01-01T00:00:00Z"}, 404),  # no feedback given then
        ]:
            _, page = await fetch(p, link)
            status, page, _ = await post(p, server, reply_forms(page)[0], "Hello", **overrides)
            assert status == expected and "<form" not in page.split("<main", 1)[-1].split("</main>")[0]
        _, page = await fetch(p, link)
        action, token, to = reply_forms(page)[0]
        status, _, _ = await post(p, server, (action.replace(cid, other_cid), token, to), "Hello")
        assert status == 404  # their own page cannot reach another volunteer's contribution
        async with p.post(server.base_url + action, data={"csrf": token, "to": to, "reply": "x" * 200_000}) as r:
            assert r.status == 413
    assert study.repo.contribution(cid).replies == [] and study.repo.contribution(other_cid).replies == []
    assert len(study.repo.audit()) == before


@pytest.mark.parametrize("status,words", [("paused", "is paused"), ("closed", "has finished")])
async def test_a_paused_or_closed_study_takes_no_reply(study, invite, status, words):
    async with served(study) as server, phone() as p:
        link, _, cid = await with_feedback(p, server, study, invite, "Which crossing?")
        _, page = await fetch(p, link)
        change_status(study, status, "Amina Yusuf")
        posted, page, _ = await post(p, server, reply_forms(page)[0], ANSWER)
    assert posted == 409 and words in page
    assert study.repo.contribution(cid).replies == []


async def test_replies_never_leave_in_an_export_and_go_with_remove_what_i_gave(study, invite, tmp_path):
    async with served(study) as server, phone() as p:
        link, _, cid = await with_feedback(p, server, study, invite, "Which crossing?")
        _, page = await fetch(p, link)
        assert (await post(p, server, reply_forms(page)[0], ANSWER))[0] == 303
        for fmt in ("csv", "redcap"):
            result = export_data(study, prepare_export(study, make_options(format=fmt)), "Amina Yusuf", tmp_path / fmt)
            for written in result.folder.iterdir():
                assert "bus station" not in written.read_text(encoding="utf-8-sig"), written.name
            assert ",feedback replied," in (result.folder / "activity.csv").read_text()  # that a reply came, only
        status, _, _ = await leave(p, link, "remove", server.base_url)
        assert status == 303
    doc = study.store.table("contributions").find(cid)
    assert doc["removed_at"] and doc["replies"] == [] and doc["feedback"] == []


def test_a_merge_keeps_the_replies_given_on_either_laptop():
    base = {
        "id": "c1",
        "values": {"walk_minutes": 30},
        "history": [],
        "reviews": [],
        "feedback": [{"text": "Which crossing?", "by": "Amina Yusuf", "at": "2026-05-01T10:00:00Z"}],
        "review_state": "received",
    }
    here = dict(base, replies=[{"text": "The bus station.", "to": "2026-05-01T10:00:00Z", "at": "2026-05-01T11:00:00Z"}])
    there = dict(base, replies=[{"text": "At 8.", "to": "2026-05-01T10:00:00Z", "at": "2026-05-01T12:00:00Z"}])
    joined, conflicts = join_contribution(here, there)
    assert [r["text"] for r in joined["replies"]] == ["The bus station.", "At 8."] and conflicts == []
    assert join_contribution(base, there)[0]["replies"] == there["replies"]  # a copy from before replies

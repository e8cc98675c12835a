"""A field day end to end in a real terminal, without leaving the app: serve, two phones enrol over HTTP,
review and publish a new protocol version while they contribute, a correction and a reply arrive and
show what changed, the export lands in the data folder, and quitting asks before it stops serving."""

from __future__ import annotations

import csv
import re
import socket
import threading
import time

from citizen.services import open_study
from citizen.services.invite_links import invite_token
from citizen.store import DataFolder

from .support import phone
from .support.factories import STUDY
from .support.terminal import IN_TMUX, app_on_the_demo_study

pytestmark = IN_TMUX

# At 80 columns the line leaves out the study's id.
HEADER = re.compile(
    r"Serving (?:air-quality-walk )?at (http://127\.0\.0\.1:\d+) · (\d+) invites? open · ([0-9,]+) arrivals? today"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def served(screen: str) -> tuple[str, int]:
    """The address and today's arrivals, as the line under the title says them."""
    found = HEADER.search(screen)
    assert found, screen
    return found.group(1), int(found.group(3).replace(",", ""))


def stored(data, read):
    """Read the study as the app has written it (read-only: the app holds the folder)."""
    with DataFolder(data, readonly=True) as folder:
        return read(open_study(folder, STUDY).repo)


class Phones:
    """Two volunteers' phones sending a contribution each, every few seconds, until told to stop
    (slower than the pages' limit on changes to one private page)."""

    def __init__(self, links: list[str]):
        self.links = links
        self.sent = 0
        self.problem: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                for link in self.links:
                    phone.contribute(link)
                    self.sent += 1
                self._stop.wait(3.0)
        except BaseException as exc:  # said by the test, not lost in a thread
            self.problem = exc

    def __enter__(self) -> Phones:
        self._thread.start()
        return self

    def until_sent(self, n: int, timeout: float = 120.0) -> None:
        """Wait until ``n`` contributions in all have been sent (and stored: each send waits for its answer)."""
        deadline = time.monotonic() + timeout
        while self.sent < n:
            assert self.problem is None, repr(self.problem)
            assert time.monotonic() < deadline, f"the phones sent {self.sent} of {n}"
            self._stop.wait(0.1)

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert self.problem is None, repr(self.problem)


def test_a_field_day_without_leaving_the_app(demo_data_path, run_env):
    data = demo_data_path
    with DataFolder(data, readonly=True) as folder:  # the poster's link, as the laptop that made it shows it
        study = open_study(folder, STUDY)
        token = invite_token(study, next(i for i in study.repo.invites() if i.label == "library poster"))
    before = stored(data, lambda repo: {d["id"] for d in repo.contribution_docs()})
    port = free_port()
    t = app_on_the_demo_study(data, run_env, actor="Amina Yusuf")
    try:
        # Serve on this laptop, on a free port.
        t.keys("j")
        t.wait_for("Not serving")
        t.keys("BTab", "BTab", "End", "C-u", "127.0.0.1")
        t.wait_for("Host 127.0.0.1 ")
        t.keys("Tab", "End", "C-u", str(port))
        t.wait_for(f"Port {port}")
        t.keys("Enter")
        base, today = served(t.wait_for(f"at http://127.0.0.1:{port} · "))
        assert base == f"http://127.0.0.1:{port}"

        # Leave the screen: serving goes on, and two phones enrol over HTTP; the overview counts them.
        t.keys("Escape")
        t.wait_for("Review backlog")
        links = [phone.enrol(f"{base}/j/{token}"), phone.enrol(f"{base}/j/{token}")]
        t.wait_for(f"· {today + 2} arrivals today")
        codes = stored(data, lambda repo: [p.code for p in repo.participants()][-2:])

        with Phones(links) as phones:
            # Review while they contribute: the newest contribution, a phone's, is on top; accept it.
            phones.until_sent(1)
            t.keys("c")
            t.wait_for("phone  received")
            t.wait_for(codes[0])
            t.keys("a")
            t.wait_for("phone  accepted")
            # A new protocol version, published while they go on contributing: the first question goes.
            t.keys("Escape")
            t.wait_for("Review backlog")
            t.keys("d")
            t.wait_for("No draft is open")
            t.keys("s")
            t.wait_for("Draft (")
            t.keys("x")
            t.wait_for("from the draft?")
            t.keys("y")
            t.wait_for("removed.")
            t.keys("p")
            t.wait_for("Publish version 3")
            t.type("Drop the date question.")
            t.keys("C-s")
            t.wait_for("No draft is open")
            t.keys("Escape")
            t.wait_for("Protocol version: 3")
            phones.until_sent(phones.sent + 2)  # a round more, on version 3
        sent = phones.sent
        t.wait_for(f"· {today + 2 + sent} arrivals today")  # every one of them counted

        # A correction of a phone's newest contribution: the review queue and the contribution say what changed.
        newest = stored(
            data, lambda repo: max(repo.contributions_of(repo.participant_by("code", codes[0]).id), key=lambda c: c.submitted_at)
        )
        assert newest.protocol_version == 3
        phone.correct(links[0], newest.id)
        t.wait_for(f"· {today + 2 + sent + 1} arrivals today")
        t.keys("c")
        screen = t.wait_for("phone  received")
        # The newest contributions are on top: the phones' last round; move to the corrected one.
        rows = [line for line in screen.splitlines() if "  phone  " in line]
        t.keys(*["Down"] * next(i for i, line in enumerate(rows) if codes[0] in line))
        t.keys("Enter")
        t.wait_for("Corrected by the contributor 1 time")
        t.keys("End")  # below the answers, at 80x24
        t.wait_for("Corrections, newest first:")
        t.keys("End")  # to its very end, now that all of it is laid out
        screen = t.wait_for(" -> ")
        change = re.search(r"(\d+) -> (\d+)", screen)
        assert change and int(change.group(2)) == int(change.group(1)) + 15, screen
        # Feedback from the team, and the volunteer's reply from their page: the contribution shows the conversation.
        t.keys("b")
        t.wait_for("Feedback to " + codes[0])
        t.type("Could you say which crossing?")
        t.keys("C-s")
        t.wait_gone("Feedback to " + codes[0])
        t.keys("End")
        t.wait_for("Amina Yusuf: Could you say which crossing?")
        phone.reply(links[0], "The one by the school gates.")
        t.wait_for(f"· {today + 2 + sent + 2} arrivals today")
        t.keys("End")
        t.wait_for(f"{codes[0]} replied: The one by the school gates.")
        t.keys("Escape")
        t.keys("Escape")
        t.wait_for("Review backlog")

        # The export: checked, confirmed, and written beside the data.
        t.keys("x")
        t.wait_for("Ctrl+T checks what would leave")
        t.keys("C-t")
        t.wait_for("What will leave this laptop")
        t.keys("C-s")
        t.wait_for("Written to", timeout=120)  # the folder beside the data: checked on disk below
        t.keys("Escape")
        t.wait_for("Review backlog")

        # Quitting asks first; Escape keeps serving; yes stops it and frees the port.
        t.keys("C-q")
        t.wait_for("Phones are being served at")
        t.keys("Escape")
        t.wait_for("Review backlog")
        assert phone.get(f"{base}/j/{token}")[0] == 200
        t.keys("C-q")
        t.wait_for("Phones are being served at")
        t.keys("y")
        t.wait_for("EXITED 0")
    finally:
        t.close()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0

    # Nothing lost, nothing doubled: every phone contribution once, the review, the new version.
    with DataFolder(data) as folder:
        repo = open_study(folder, STUDY).repo
        new = [d for d in repo.contribution_docs() if d["id"] not in before]
        assert len(new) == sent and len({d["id"] for d in new}) == sent
        assert sum(1 for d in new if d["review_state"] == "accepted") == 1
        assert repo.current_protocol().number == 3 and repo.current_protocol().change_summary == "Drop the date question."
    [export] = [p for p in (data / "exports" / STUDY).iterdir() if p.is_dir()]
    with (export / "contributions.csv").open(encoding="utf-8-sig") as f:
        rows = {row["contribution_id"]: row for row in csv.DictReader(f)}
    assert {d["id"] for d in new} <= set(rows)
    assert rows[newest.id]["revisions"] == "1"
    assert "school gates" not in (export / "contributions.csv").read_text(encoding="utf-8-sig")  # a reply is conversation

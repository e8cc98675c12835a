"""The phone pages in a real browser: Debian's Chromium, headless, at 320 pixels and at 200% zoom.

Accessibility is checked with axe-core, as bundled in the ``axe-playwright-python`` package (test extra).
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest

from citizen.services import create_invite

from .support.web import GENEROUS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(importlib.util.find_spec("axe_playwright_python").origin).parent / "axe.min.js"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(study) -> Iterator[tuple[str, str]]:
    """The study served from its own thread and loop (Playwright's sync API wants this thread)."""
    from citizen.web.server import EnrolmentServer

    invite = create_invite(study, "library poster", "Amina Yusuf")
    server = EnrolmentServer(study, "127.0.0.1", 0, limits=GENEROUS)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(20)
    try:
        yield server.join_url(invite.token), server.base_url
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(20)
        loop.close()


def fits(page) -> None:
    """Nothing sticks out sideways: no horizontal scrolling at this width."""
    width = page.evaluate("document.documentElement.clientWidth")
    scroll = page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)")
    assert scroll <= width, f"the page is {scroll}px wide in a {width}px window"


def not_blank(png: bytes) -> None:
    from PIL import Image

    image = Image.open(BytesIO(png)).convert("L")
    assert image.width <= 320
    low, high = image.getextrema()
    assert high - low > 100  # text on a background, not one flat colour
    dark = sum(image.histogram()[:128])
    assert dark > image.width * image.height * 0.01


def consent_all(page) -> None:
    for item in ("take_part", "share_partners"):
        page.check(f"input[name=consent_{item}][value=yes]")
    for item in ("quote_words", "contact_later"):
        page.check(f"input[name=consent_{item}][value=no]")


def fill_walk(page, minutes: str = "35") -> None:
    page.fill("#f-walk_date", "2026-05-02")
    page.check("input[name=route][value=canal_path]")
    page.fill("#f-walk_minutes", minutes)
    page.check("input[name=breathing][value='4']")
    page.check("input[name=symptoms][value=cough]")
    page.fill("#f-notes", "Windy by the canal.")


def joined_with_a_walk(page, join: str) -> str:
    """A volunteer joins on the page and sends a walk; their participant code."""
    page.goto(join)
    consent_all(page)
    page.click("button[type=submit]")
    page.wait_for_selector("#participant-code")
    code = page.inner_text("#participant-code")
    page.click("a.button")
    page.wait_for_selector("#contribute")
    fill_walk(page)
    page.click("#contribute button[type=submit]")
    page.wait_for_selector(".notice")
    return code


def test_a_volunteer_enrols_and_contributes_on_a_320_pixel_phone(browser, site, study, tmp_path):
    join, _ = site
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(join)
    fits(page)
    consent_all(page)
    page.click("button[type=submit]")
    page.wait_for_selector("#participant-code")
    code = page.inner_text("#participant-code")
    fits(page)
    png = page.screenshot(path=str(tmp_path / "receipt.png"), full_page=True)
    not_blank(png)
    assert page.locator(".qr svg").bounding_box()["width"] <= 320
    page.click("a.button")
    page.wait_for_selector("#contribute")
    fill_walk(page, minutes="lots")
    page.click("#contribute button[type=submit]")
    page.wait_for_selector("#f-walk_minutes-err")
    assert page.get_attribute("#f-walk_minutes", "aria-describedby") == "f-walk_minutes-err"
    fits(page)
    page.fill("#f-walk_minutes", "35")
    page.click("#contribute button[type=submit]")
    page.wait_for_selector(".notice")
    not_blank(page.screenshot(path=str(tmp_path / "participant.png"), full_page=True))
    fits(page)
    page.close()
    participant = study.repo.participant_by("code", code)
    (contribution,) = study.repo.contributions_of(participant.id)
    assert contribution.values["walk_minutes"] == 35 and contribution.values["symptoms"] == ["cough"]


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_the_pages_have_no_serious_accessibility_problems(browser, site, lang):
    join, base = site
    # axe is injected as a script, which the pages' own policy forbids: this context lets it in.
    context = browser.new_context(
        viewport={"width": 320, "height": 640}, bypass_csp=True, extra_http_headers={"Accept-Language": lang}
    )
    page = context.new_page()
    checked = []

    def check(what: str) -> None:
        assert page.get_attribute("html", "lang") == lang
        page.add_script_tag(path=str(AXE))
        violations = page.evaluate("async () => (await axe.run()).violations")
        bad = [(v["id"], v["impact"], v["help"]) for v in violations if v["impact"] in ("serious", "critical")]
        assert not bad, f"{what} ({lang}): {bad}"
        checked.append(what)

    page.goto(join)
    check("join page")
    page.click("button[type=submit]")  # nothing answered: errors beside every item
    page.wait_for_selector(".alert")
    check("join page with errors")
    consent_all(page)
    page.click("button[type=submit]")
    page.wait_for_selector("#participant-code")
    check("receipt")
    page.click("a.button")
    page.wait_for_selector("#contribute")
    check("participant page")
    page.fill("#f-walk_minutes", "lots")
    page.click("#contribute button[type=submit]")
    page.wait_for_selector("#f-walk_minutes-err")
    check("participant page with errors")
    page.check("input[name=remove][value=keep]")
    page.click("#withdraw button[type=submit]")
    page.wait_for_selector("#confirm-leave")
    check("leaving explained")
    page.click("#confirm-leave")
    page.wait_for_selector("#what-was-done")
    check("leaving done")
    page.goto(base + "/p/" + "Q" * 24)
    check("error page")
    context.close()
    assert len(checked) == 8


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_nothing_overflows_sideways_at_200_percent_zoom(browser, site, lang):
    join, base = site
    context = browser.new_context(viewport={"width": 320, "height": 640}, extra_http_headers={"Accept-Language": lang})
    page = context.new_page()
    zoom = "document.documentElement.style.zoom = '2'"

    page.goto(join)
    page.evaluate(zoom)
    fits(page)
    page.evaluate("document.documentElement.style.zoom = '1'")
    page.click("button[type=submit]")
    page.wait_for_selector(".alert")
    page.evaluate(zoom)
    fits(page)
    page.evaluate("document.documentElement.style.zoom = '1'")
    consent_all(page)
    page.click("button[type=submit]")
    page.wait_for_selector("#participant-code")
    page.evaluate(zoom)
    fits(page)
    page.click("a.button")
    page.wait_for_selector("#contribute")
    page.evaluate(zoom)
    fits(page)
    context.close()


def test_leaving_on_a_phone_is_explained_confirmed_and_then_said_as_done(browser, site, study, tmp_path):
    join, _ = site
    page = browser.new_page(viewport={"width": 320, "height": 640})
    code = joined_with_a_walk(page, join)
    participant = study.repo.participant_by("code", code)

    page.check("input[name=remove][value=remove]")
    page.click("#withdraw button[type=submit]")
    page.wait_for_selector("#confirm-leave")
    assert "Your contributions (1) will be deleted." in page.inner_text("#what-happens")
    assert "This cannot be undone." in page.inner_text("#what-happens")
    fits(page)
    not_blank(page.screenshot(path=str(tmp_path / "leave.png"), full_page=True))
    assert not study.repo.consent_state(participant.id).withdrawn  # reading it changed nothing

    page.click("#stay")  # the way back
    page.wait_for_selector("#contribute")
    assert not study.repo.consent_state(participant.id).withdrawn
    page.check("input[name=remove][value=remove]")
    page.click("#withdraw button[type=submit]")
    page.wait_for_selector("#confirm-leave")
    page.click("#confirm-leave")
    page.wait_for_selector("#what-was-done")
    assert page.inner_text("h1") == "You have left the study"
    assert "Your contributions (1) were deleted." in page.inner_text("#what-was-done")
    assert page.locator("form").count() == 0 and page.locator(".notice").count() == 1
    fits(page)
    not_blank(page.screenshot(path=str(tmp_path / "left.png"), full_page=True))
    page.close()
    state = study.repo.consent_state(participant.id)
    assert state.withdrawn and state.remove_data
    assert [c.removed for c in study.repo.contributions_of(participant.id)] == [True]


def test_the_contact_box_shows_only_beside_a_yes_and_is_kept_when_given(browser, site, study, tmp_path):
    join, _ = site
    page = browser.new_page(viewport={"width": 320, "height": 640})
    page.goto(join)
    assert page.is_visible("#f-reach")  # nothing chosen yet: the question is there to read
    consent_all(page)  # "no" to being contacted
    assert not page.is_visible("#f-reach")
    page.check("input[name=consent_contact_later][value=yes]")
    assert page.is_visible("#f-reach")
    page.click("button[type=submit]")  # yes, but no way to reach them
    page.wait_for_selector("#f-reach-err")
    assert page.get_attribute("#f-reach", "aria-invalid") == "true"
    fits(page)
    page.fill("#f-reach", "07700 900123")
    page.click("button[type=submit]")
    page.wait_for_selector("#participant-code")
    code = page.inner_text("#participant-code")
    page.click("a.button")
    page.wait_for_selector("#reach-section")
    assert page.inner_text("#reach-shown") == "07700 900123"
    not_blank(page.screenshot(path=str(tmp_path / "reach.png"), full_page=True))
    fits(page)
    page.close()
    participant = study.repo.participant_by("code", code)
    assert study.repo.contact(participant.id).phone == "07700 900123"


def test_a_volunteer_replies_to_feedback_under_it_on_a_320_pixel_phone(browser, site, study, tmp_path):
    from citizen.services import give_feedback

    join, _ = site
    context = browser.new_context(viewport={"width": 320, "height": 640}, bypass_csp=True)  # axe is let in
    page = context.new_page()
    code = joined_with_a_walk(page, join)
    (contribution,) = study.repo.contributions_of(study.repo.participant_by("code", code).id)
    give_feedback(study, contribution.id, "Could you say which crossing?", "Amina Yusuf")
    page.reload()
    box = page.locator(".reply-form textarea")
    assert box.count() == 1 and page.inner_text(f"label[for='{box.get_attribute('id')}']") == "Reply to the team"
    page.click(".reply-form button[type=submit]")  # nothing written
    page.wait_for_selector(".reply-form .error")
    assert page.inner_text(".reply-form .error") == "This cannot be left empty."
    assert box.get_attribute("aria-invalid") == "true" and box.evaluate("el => el === document.activeElement")
    fits(page)
    box.fill("The one by the bus station, at 8.")
    page.click(".reply-form button[type=submit]")
    page.wait_for_selector(".notice")
    assert page.inner_text(".notice") == "Your reply was sent to the study team."
    assert page.inner_text(".contribution .reply") == "Your reply: The one by the bus station, at 8."
    fits(page)
    not_blank(page.screenshot(path=str(tmp_path / "reply.png"), full_page=True))
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("async () => (await axe.run()).violations")
    assert not [(v["id"], v["help"]) for v in violations if v["impact"] in ("serious", "critical")]
    context.close()
    assert [r.text for r in study.repo.contribution(contribution.id).replies] == ["The one by the bus station, at 8."]

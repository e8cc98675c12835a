"""A phone for tests: opens a join link over real HTTP, enrols with consent and contributes,
reading each page's form (its CSRF token included) as a browser would."""

from __future__ import annotations

import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden and text inputs
    radios: dict[str, list[str]] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)  # input name -> type or inputmode


class Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = Form(a.get("action", ""))
            self.forms.append(self._current)
        elif self._current is not None and tag in ("input", "textarea") and a.get("name"):
            kind = a.get("type", "text") if tag == "input" else "textarea"
            if kind == "radio":
                self._current.radios.setdefault(a["name"], []).append(a.get("value", ""))
            elif kind != "checkbox":
                self._current.fields.setdefault(a["name"], a.get("value", ""))
                self._current.types[a["name"]] = a.get("inputmode") or kind

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def get(url: str) -> tuple[int, str, str]:
    """Status, final address and page of a GET (redirects followed)."""
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.geturl(), response.read().decode("utf-8")


def post(url: str, values: dict[str, str]) -> tuple[int, str, str]:
    body = urllib.parse.urlencode(values).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.geturl(), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, url, exc.read().decode("utf-8")


def forms_of(page: str) -> list[Form]:
    parser = Forms()
    parser.feed(page)
    return parser.forms


def enrol(join_link: str) -> str:
    """Join through ``join_link`` saying yes to every consent item; returns the private link."""
    status, _, page = get(join_link)
    assert status == 200, status
    form = forms_of(page)[0]
    values = dict(form.fields)
    values.update({name: "yes" for name in form.radios if name.startswith("consent_")})
    if "reach" in values:  # yes to being contacted: the page asks how
        values["reach"] = "07700 900123"
    status, _, receipt = post(urllib.parse.urljoin(join_link, form.action), values)
    assert status == 200, (status, receipt[:500])
    private = re.search(r"https?://[^\"'<\s]+/p/[A-Za-z0-9_-]+", receipt)
    assert private, receipt[:500]
    return private.group(0)


ANSWERS = {"date": lambda: date.today().isoformat(), "time": lambda: "08:30", "numeric": lambda: "30", "decimal": lambda: "12.5"}


def contribute(private_link: str) -> str:
    """Send the contribution form of the participant's page with an answer in every box."""
    status, _, page = get(private_link)
    assert status == 200, status
    form = next(f for f in forms_of(page) if f.action.endswith("/contribute"))

    def answer(name: str, value: str) -> str:
        kind = form.types.get(name, "")
        return value if kind == "hidden" else ANSWERS.get(kind, lambda: "by the park")()

    values = {name: answer(name, value) for name, value in form.fields.items()}
    values.update({name: choices[0] for name, choices in form.radios.items()})
    status, where, page = post(urllib.parse.urljoin(private_link, form.action), values)
    assert status == 200 and "done=contributed" in where, (status, where, page[:800])
    return page


def correct(private_link: str, contribution_id: str) -> str:
    """Open the correction page of one of the participant's contributions and send it with the first
    number changed (every other answer as it was)."""
    page_link = f"{private_link}/c/{contribution_id}"
    status, _, page = get(page_link)
    assert status == 200, status
    form = next(f for f in forms_of(page) if f.action.endswith(f"/c/{contribution_id}"))
    values = dict(form.fields)
    values.update({name: choices[0] for name, choices in form.radios.items()})  # as contribute() chose
    number = next(name for name in values if form.types.get(name) == "numeric")
    values[number] = str(int(values[number] or 0) + 15)
    status, where, page = post(urllib.parse.urljoin(private_link, form.action), values)
    assert status == 200 and "done=corrected" in where, (status, where, page[:800])
    return page


def reply(private_link: str, text: str) -> str:
    """Answer the first feedback shown on the participant's page, with the reply box under it."""
    status, _, page = get(private_link)
    assert status == 200, status
    form = next(f for f in forms_of(page) if "/r/" in f.action)
    values = dict(form.fields, reply=text)
    status, where, page = post(urllib.parse.urljoin(private_link, form.action), values)
    assert status == 200 and "done=replied" in where, (status, where, page[:800])
    return page

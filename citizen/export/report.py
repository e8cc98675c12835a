"""The study report: a Markdown page for the community and partners, with no personal data.

It tells the shared aim, how participation grew, what arrived week by week and how it was
reviewed, how the protocol changed and who decided, and the updates shared with participants.
Only counts and the team's own words appear: no participant code, answer or contact.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Optional

from ..domain.models import ConsentRole, ProposalStatus, pick, utcnow
from ..services.common import ServiceError, Study
from ..services.queries import figures
from ..store import StoreError
from ..store.durable import atomic_write
from .files import study_exports


def _md(text: str) -> str:
    """Team-written text in a table cell or a line: no table breaks, no raw HTML."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return out


def study_report(study: Study) -> str:
    """The report's Markdown text."""
    record = study.repo.study()
    lang = record.main_language
    fig = figures(study)
    versions = study.repo.protocol_versions()
    proposals = {p.id: p for p in study.repo.proposals()}
    updates = study.repo.updates()
    lines = [f"# {_md(record.title)}", "", f"*Study report written {utcnow().strftime('%Y-%m-%d')} (UTC). "
             "It holds counts and the team's own words only: no participant's code, answers or contact.*", "",
             "## Our shared aim", "", _md(record.shared_aim), ""]
    summary = pick(record.summary, lang)
    if summary:
        lines += [_md(summary), ""]
    lines += ["## Participation", "",
              f"- {fig.participants} people enrolled; {fig.active} are taking part, {fig.withdrawn} withdrew.",
              f"- {fig.contributions} contributions are kept"
              + (f"; {fig.removed} were removed at their contributors' request." if fig.removed else "."),
              *_agreements(fig), ""]
    if fig.enrolled_by_week:
        running = 0
        rows = []
        for week in sorted(fig.enrolled_by_week):
            running += fig.enrolled_by_week[week]
            rows.append([week, str(fig.enrolled_by_week[week]), str(running)])
        lines += ["### People enrolled over time", "", *_table(["Week", "Enrolled", "In all"], rows), ""]
    lines += ["## Contributions", ""]
    if fig.by_week:
        lines += ["### By week", "", *_table(["Week", "Contributions"],
                                             [[w, str(fig.by_week[w])] for w in sorted(fig.by_week)]), ""]
    states = Counter(fig.by_review)
    lines += ["### By review state", "", *_table(["Review state", "Contributions"],
                                                 [[s, str(states.get(s, 0))] for s in
                                                  ("received", "accepted", "needs attention", "rejected")]), ""]
    lines += ["## How the protocol changed", ""]
    for v in versions:
        lines.append(f"### Version {v.number} (in force from {v.effective_at.strftime('%Y-%m-%d')})")
        lines.append("")
        if v.change_summary:
            lines.append(_md(v.change_summary))
        lines.append(f"- Approved by {_md(v.approved_by)}; {len(v.fields)} questions; consent document "
                     f"version {v.consent.version}.")
        p = proposals.get(v.proposal_id or "")
        if p is not None:
            lines.append(f"- From the proposal \"{_md(p.title)}\": {_md(p.rationale)}")
            lines.append(f"- Proposed by {_proposer(p)}; decided by {_md(p.decided_by or '-')}"
                         + (f": {_md(p.decision_reason)}" if p.decision_reason else "."))
        lines.append("")
    declined = [p for p in proposals.values() if p.status is ProposalStatus.declined]
    if declined:
        lines += ["### Proposals not taken up", ""]
        lines += [f"- \"{_md(p.title)}\", decided by {_md(p.decided_by or '-')}: {_md(p.decision_reason)}"
                  for p in declined]
        lines.append("")
    open_ = [p for p in proposals.values() if p.status is ProposalStatus.open]
    if open_:
        lines += [f"{len(open_)} proposal{'s are' if len(open_) != 1 else ' is'} still open for discussion.", ""]
    lines += ["## Updates shared with participants", ""]
    if not updates:
        lines += ["No updates yet.", ""]
    for u in sorted(updates, key=lambda u: u.posted_at):
        lines += [f"### {_md(u.title)} ({u.posted_at.strftime('%Y-%m-%d')}, {_md(u.author)})", "",
                  _md(pick(u.body, lang)), ""]
    return "\n".join(lines).rstrip() + "\n"


AGREEMENTS = {
    ConsentRole.quote_words: ("to their own words being quoted",
                              "No consent item asks about quoting: free-text answers are exported."),
    ConsentRole.share_partners: ("to sharing with partner organisations",
                                 "No consent item asks about sharing with partner organisations: nothing is shared "
                                 "with them."),
    ConsentRole.contact_later: ("to being contacted later",
                                "No consent item asks about contacting participants later: no one is contacted."),
}


def _agreements(fig) -> list[str]:
    """What the people taking part agreed to, read by the consent items' roles."""
    out = []
    for role, (agreed, absent) in AGREEMENTS.items():
        if role in fig.asked:
            out.append(f"- {fig.agreed.get(role, 0)} of the {fig.active} taking part agreed {agreed}.")
        else:
            out.append(f"- {absent}")
    return out


def _proposer(p) -> str:
    return "a participant" if p.participant_id else _md(p.proposed_by)


def default_report_path(study: Study) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return study_exports(study.store.folder) / f"{study.id}-report-{stamp}.md"


def write_report(study: Study, path: Optional[Path] = None) -> Path:
    """Write the report atomically (the old file or the new, never half of one)."""
    target = (path or default_report_path(study)).expanduser().absolute()
    text = study_report(study)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise ServiceError(f"Could not write the report to {target} ({exc.strerror or exc}).") from exc
    except StoreError as exc:
        raise ServiceError(str(exc).replace("Nothing was saved", "The report was not written")) from exc
    return target

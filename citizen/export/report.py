"""The study report: a Markdown page for the community and partners, with no personal data.

It tells the shared aim, how participation grew, what arrived week by week and how it was
reviewed, how the protocol changed and who decided, and the updates shared with participants. It
is written in the study's main language, or another of its languages on request, in the words of
the page catalogues (or of the study's own translation of them).
Only counts and the team's own words appear: no participant code, answer or contact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Optional

from ..domain.models import ConsentRole, ProposalStatus, ReviewState, pick, utcnow
from ..domain.words import N_, StudyWords
from ..services.common import Refused, ServiceError, Study
from ..services.queries import figures
from ..store import StoreError
from ..store.durable import atomic_write
from .files import study_exports

# The review states as participants read them on their pages (the same catalogue words).
REVIEW_STATES = {
    ReviewState.received: N_("received"),
    ReviewState.accepted: N_("accepted"),
    ReviewState.needs_attention: N_("needs attention"),
    ReviewState.rejected: N_("not used"),
}


def _md(text: str) -> str:
    """Team-written text in a table cell or a line: no table breaks, no raw HTML."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "&lt;")


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(_md(c) for c in row) + " |" for row in rows]
    return out


def report_words(study: Study, language: Optional[str] = None) -> tuple[str, StudyWords]:
    """The report's language (the study's main one unless asked) and its words, as the phone pages say them."""
    record = study.repo.study()
    lang = language or record.main_language
    if lang not in record.languages:
        raise Refused(f"The study '{record.id}' is not written in '{lang}'; its languages are {', '.join(record.languages)}.")
    current = study.repo.current_protocol()
    return lang, StudyWords(lang, current.page_words.get(lang, {}) if current else {})


def study_report(study: Study, language: Optional[str] = None) -> str:
    """The report's Markdown text, in the study's main language or another of its languages."""
    lang, words = report_words(study, language)
    _, ngettext = words.gettext, words.ngettext  # counted texts take the language's plural forms
    record = study.repo.study()
    fig = figures(study)
    versions = study.repo.protocol_versions()
    proposals = {p.id: p for p in study.repo.proposals()}
    updates = study.repo.updates()
    lines = [
        f"# {_md(record.title)}",
        "",
        "*"
        + _(
            "Study report written %(date)s (UTC). It holds counts and the "
            "team's own words only: no participant's code, answers or "
            "contact."
        )
        % {"date": utcnow().strftime("%Y-%m-%d")}
        + "*",
        "",
        "## " + _("Our shared aim"),
        "",
        _md(record.aim(lang)),
        "",
    ]
    summary = pick(record.summary, lang)
    if summary:
        lines += [_md(summary), ""]
    kept = ngettext("%(count)s contribution is kept.", "%(count)s contributions are kept.", fig.contributions)
    kept %= {"count": fig.contributions}
    if fig.removed:
        kept += " " + ngettext(
            "%(count)s was removed at the contributor's request.",
            "%(count)s were removed at their contributors' request.",
            fig.removed,
        ) % {"count": fig.removed}
    people = {
        "enrolled": ngettext("%(count)s participant enrolled", "%(count)s participants enrolled", fig.participants),
        "active": ngettext("%(count)s is taking part", "%(count)s are taking part", fig.active),
        "withdrawn": ngettext("%(count)s withdrew", "%(count)s withdrew", fig.withdrawn),
    }
    counts = {"enrolled": fig.participants, "active": fig.active, "withdrawn": fig.withdrawn}
    lines += [
        "## " + _("Participation"),
        "",
        "- "
        + _("%(enrolled)s; %(active)s, %(withdrawn)s.") % {key: text % {"count": counts[key]} for key, text in people.items()},
        "- " + kept,
        *_agreements(fig, _),
        "",
    ]
    if fig.enrolled_by_week:
        running = 0
        rows = []
        for week in sorted(fig.enrolled_by_week):
            running += fig.enrolled_by_week[week]
            rows.append([week, str(fig.enrolled_by_week[week]), str(running)])
        lines += ["### " + _("People enrolled over time"), "", *_table([_("Week"), _("Enrolled"), _("In all")], rows), ""]
    lines += ["## " + _("Contributions"), ""]
    if fig.by_week:
        lines += [
            "### " + _("By week"),
            "",
            *_table([_("Week"), _("Contributions")], [[w, str(fig.by_week[w])] for w in sorted(fig.by_week)]),
            "",
        ]
    states = Counter(fig.by_review)
    lines += [
        "### " + _("By review state"),
        "",
        *_table([_("Review state"), _("Contributions")], [[_(REVIEW_STATES[s]), str(states.get(s, 0))] for s in REVIEW_STATES]),
        "",
    ]
    lines += ["## " + _("How the protocol changed"), ""]
    for v in versions:
        lines.append(
            "### "
            + _("Version %(number)s (in force from %(date)s)") % {"number": v.number, "date": v.effective_at.strftime("%Y-%m-%d")}
        )
        lines.append("")
        if v.change_summary:
            lines.append(_md(v.change_summary))
        lines.append(
            "- "
            + _("Approved by %(who)s; %(questions)s; consent document version %(consent)s.")
            % {
                "who": _md(v.approved_by),
                "questions": ngettext("%(count)s question", "%(count)s questions", len(v.fields)) % {"count": len(v.fields)},
                "consent": v.consent.version,
            }
        )
        p = proposals.get(v.proposal_id or "")
        if p is not None:
            lines.append(
                "- " + _('From the proposal "%(title)s": %(rationale)s') % {"title": _md(p.title), "rationale": _md(p.rationale)}
            )
            decided = {"who": _proposer(p, _), "decider": _md(p.decided_by or "-"), "reason": _md(p.decision_reason)}
            lines.append(
                "- "
                + (
                    _("Proposed by %(who)s; decided by %(decider)s: %(reason)s")
                    if p.decision_reason
                    else _("Proposed by %(who)s; decided by %(decider)s.")
                )
                % decided
            )
        lines.append("")
    declined = [p for p in proposals.values() if p.status is ProposalStatus.declined]
    if declined:
        lines += ["### " + _("Proposals not taken up"), ""]
        lines += [
            "- "
            + _('"%(title)s", decided by %(decider)s: %(reason)s')
            % {"title": _md(p.title), "decider": _md(p.decided_by or "-"), "reason": _md(p.decision_reason)}
            for p in declined
        ]
        lines.append("")
    open_ = [p for p in proposals.values() if p.status is ProposalStatus.open]
    if open_:
        lines += [_("Proposals still open for discussion: %(count)s.") % {"count": len(open_)}, ""]
    lines += ["## " + _("Updates shared with participants"), ""]
    if not updates:
        lines += [_("No updates yet."), ""]
    for u in sorted(updates, key=lambda u: u.posted_at):
        lines += [
            f"### {_md(u.title_in(lang))} ({u.posted_at.strftime('%Y-%m-%d')}, {_md(u.author)})",
            "",
            _md(pick(u.body, lang)),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


# What the people taking part agreed to, by the consent items' roles: (agreed, no such item).
AGREEMENTS = {
    ConsentRole.quote_words: (
        N_("%(agreed)s of the %(active)s taking part agreed to their own words being quoted."),
        N_("No consent item asks about quoting: free-text answers are exported."),
    ),
    ConsentRole.share_partners: (
        N_("%(agreed)s of the %(active)s taking part agreed to sharing with partner organisations."),
        N_("No consent item asks about sharing with partner organisations: nothing is shared with them."),
    ),
    ConsentRole.contact_later: (
        N_("%(agreed)s of the %(active)s taking part agreed to being contacted later."),
        N_("No consent item asks about contacting participants later: no one is contacted."),
    ),
}


def _agreements(fig, _: Callable[[str], str]) -> list[str]:
    """What the people taking part agreed to, read by the consent items' roles."""
    out = []
    for role, (agreed, absent) in AGREEMENTS.items():
        if role in fig.asked:
            out.append("- " + _(agreed) % {"agreed": fig.agreed.get(role, 0), "active": fig.active})
        else:
            out.append("- " + _(absent))
    return out


def _proposer(p, _: Callable[[str], str]) -> str:
    return _("a participant") if p.participant_id else _md(p.proposed_by)


def default_report_path(study: Study) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return study_exports(study.store.folder) / f"{study.id}-report-{stamp}.md"


def write_report(study: Study, path: Optional[Path] = None, language: Optional[str] = None) -> Path:
    """Write the report atomically (the old file or the new, never half of one), in ``language`` if given."""
    text = study_report(study, language)
    target = (path or default_report_path(study)).expanduser().absolute()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, text.encode("utf-8"))
    except OSError as exc:
        raise ServiceError(f"Could not write the report to {target} ({exc.strerror or exc}).") from exc
    except StoreError as exc:
        raise ServiceError(str(exc).replace("Nothing was saved", "The report was not written")) from exc
    return target

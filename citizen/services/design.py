"""Designing a study from the terminal: a study made from nothing, its team, drafts of its protocol.

A draft is edited freely (each field and consent item is checked as it is saved, so a refusal
can be shown beside the entry it is about) and becomes an immutable protocol version only when
it is published, in one change that also marks the draft as published.
"""

from __future__ import annotations

from typing import Any, Optional, Union

from pydantic import ValidationError

from ..domain.design import (
    Draft,
    draft_problems,
    locate_errors,
    make_code,
    missing_translations,
    parse_bound,
    parse_choices,
)
from ..domain.models import (
    ROLE_NAMES,
    ConsentItem,
    ConsentRole,
    FormField,
    ProposalStatus,
    ProtocolVersion,
    to_doc,
    utcnow,
)
from ..domain.words import page_word_gaps
from .common import NotFound, Refused, Study, audit, change
from .drafts import drafts as drafts  # read through this module by the design screens
from .drafts import editable_draft as _draft
from .drafts import open_draft as open_draft
from .studies import publish_protocol_version
from .study_details import (  # noqa: F401 (re-exported: the design screens reach them through this module)
    change_status,
    edit_study,
    new_study,
    remove_team_member,
    save_team_member,
)

# -- drafts ------------------------------------------------------------------------------------


def _save(
    study: Study, row: int, draft: Draft, actor: str, action: str, target: str = "", details: Optional[dict[str, Any]] = None
) -> Draft:
    draft = draft.model_copy(update={"updated_at": utcnow()})
    with change(study) as tx:
        tx.put("drafts", row, to_doc(draft))
        audit(tx, actor, action, target, details, laptop=study.laptop)
    return draft


def start_draft(study: Study, actor: str, proposal_id: Optional[str] = None) -> Draft:
    """Open a draft: a copy of the protocol in force (or an empty form for a new study)."""
    if open_draft(study) is not None:
        raise Refused("A draft is already open: publish or discard it first.")
    current = study.repo.current_protocol()
    draft = Draft(
        created_by=actor or "unknown",
        proposal_id=proposal_id,
        based_on=current.number if current else None,
        fields=current.fields if current else [],
        consent_text=current.consent.text if current else {},
        consent_items=current.consent.items if current else [],
        page_words=current.page_words if current else {},
    )
    with change(study) as tx:
        tx.insert("drafts", to_doc(draft))
        audit(
            tx,
            actor,
            "draft started",
            f"from version {current.number}" if current else "new protocol",
            {"proposal": proposal_id},
            laptop=study.laptop,
        )
    return draft


def discard_draft(study: Study, draft_id: str, actor: str) -> Draft:
    row, draft = _draft(study, draft_id)
    return _save(study, row, draft.model_copy(update={"discarded": True}), actor, "draft discarded")


def draft_from_proposal(study: Study, proposal_id: str, actor: str) -> Draft:
    """Turn an accepted proposal into a draft in one step; publishing the draft links them."""
    proposal = study.repo.proposal(proposal_id)
    if proposal is None:
        raise NotFound("That proposal is no longer there.")
    if proposal.status is not ProposalStatus.accepted:
        raise Refused(f"Only an accepted proposal becomes a draft; this one is {proposal.status.value}.")
    if proposal.protocol_version is not None:
        raise Refused(f"This proposal is already in force as version {proposal.protocol_version}.")
    current = open_draft(study)
    if current is not None:
        if current.proposal_id == proposal_id:
            return current
        raise Refused("A draft is already open: publish or discard it first.")
    return start_draft(study, actor, proposal_id=proposal_id)


def _field_from(values: dict[str, Any], languages: list[str]) -> FormField:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "type": values.get("type") or "text",
        "required": bool(values.get("required")),
        "identifying": bool(values.get("identifying")),
        "label": {k: v for k, v in (values.get("label") or {}).items() if v and v.strip()},
        "help": {k: v for k, v in (values.get("help") or {}).items() if v and v.strip()},
    }
    key = str(values.get("key") or "").strip()
    if not key and data["label"]:
        key = make_code(next(iter(data["label"].values())), "field")
    data["key"] = key
    choices = values.get("choices") or []
    data["choices"] = parse_choices(choices, languages) if isinstance(choices, str) else choices
    for bound in ("min", "max"):
        raw = values.get(bound)
        try:
            data[bound] = parse_bound(raw) if isinstance(raw, str) else raw
        except ValueError as exc:
            errors[bound] = str(exc)
    if errors:
        raise Refused("Please correct the entries marked.", errors)
    try:
        return FormField.model_validate(data)
    except ValidationError as exc:
        located = locate_errors(exc)
        if not key and "label" in located:
            located.pop("key", None)  # the key comes from the label: the label is what is missing
        raise Refused("Please correct the entries marked.", located) from None


def check_field(values: dict[str, Any], languages: list[str]) -> FormField:
    """The field these entries make, without storing anything (for a preview); Refused when it cannot work."""
    return _field_from(values, languages)


def save_draft_field(study: Study, draft_id: str, values: dict[str, Any], actor: str, index: Optional[int] = None) -> Draft:
    """Add a field to the draft (index None) or replace the one at ``index``; refusals name the entry."""
    row, draft = _draft(study, draft_id)
    field = _field_from(values, study.repo.study().languages)
    for i, other in enumerate(draft.fields):
        if i != index and other.key == field.key:
            msg = f"The key '{field.key}' is already used by field {i + 1} ({other.text('en')}); choose another."
            raise Refused(msg, {"key": msg})
    fields = list(draft.fields)
    if index is None:
        fields.append(field)
        action = "draft field added"
    else:
        if not 0 <= index < len(fields):
            raise NotFound("That field is no longer in the draft.")
        fields[index] = field
        action = "draft field changed"
    return _save(study, row, draft.model_copy(update={"fields": fields}), actor, action, field.key)


def remove_draft_field(study: Study, draft_id: str, index: int, actor: str) -> Draft:
    row, draft = _draft(study, draft_id)
    if not 0 <= index < len(draft.fields):
        raise NotFound("That field is no longer in the draft.")
    gone = draft.fields[index]
    fields = [f for i, f in enumerate(draft.fields) if i != index]
    return _save(study, row, draft.model_copy(update={"fields": fields}), actor, "draft field removed", gone.key)


def move_draft_field(study: Study, draft_id: str, index: int, delta: int, actor: str) -> Draft:
    """Move a field up (delta -1) or down (+1) in the form; at either end nothing moves."""
    row, draft = _draft(study, draft_id)
    target = index + delta
    if not 0 <= index < len(draft.fields) or not 0 <= target < len(draft.fields):
        return draft
    fields = list(draft.fields)
    fields[index], fields[target] = fields[target], fields[index]
    return _save(
        study,
        row,
        draft.model_copy(update={"fields": fields}),
        actor,
        "draft field moved",
        fields[target].key,
        {"to": target + 1},
    )


def _language(study: Study, language: str) -> str:
    record = study.repo.study()
    if not language:
        return record.main_language
    if language not in record.languages:
        raise Refused(f"This study is not written in '{language}'; its languages are {', '.join(record.languages)}.")
    return language


def save_consent_text(study: Study, draft_id: str, text: Union[str, dict[str, str]], actor: str, language: str = "") -> Draft:
    """Save the consent text in one language (a string; the study's main language unless named) or in all (a dict)."""
    row, draft = _draft(study, draft_id)
    lang = _language(study, language)
    new_text = dict(draft.consent_text)
    if isinstance(text, str):
        if text.strip():
            new_text[lang] = text
        else:
            new_text.pop(lang, None)
    else:
        new_text = dict(text)
    try:
        updated = draft.model_copy(
            update={"consent_text": Draft.model_validate(to_doc(draft) | {"consent_text": new_text}).consent_text}
        )
    except ValidationError as exc:
        raise Refused("Please correct the consent text.", {"text": locate_errors(exc).popitem()[1]}) from None
    if not updated.consent_text:
        raise Refused(
            "The consent text cannot be empty: say what taking part means.",
            {"text": "The consent text cannot be empty: say what taking part means."},
        )
    return _save(study, row, updated, actor, "consent text changed")


def save_consent_item(
    study: Study, draft_id: str, values: dict[str, Any], actor: str, index: Optional[int] = None, language: str = ""
) -> Draft:
    """Add (index None) or change a consent item: an id, its words, its role and whether taking part needs it.

    Words given as a string are the item's text in ``language`` (else the main language); the
    item's other languages are kept. The role (taking part, sharing with partners, quoting, contact
    later, plain) is what the rules read; without one, a changed item keeps its role. Each role
    other than plain belongs to one item: giving it to a second one is refused beside the role.
    """
    row, draft = _draft(study, draft_id)
    before = draft.consent_items[index] if index is not None and 0 <= index < len(draft.consent_items) else None
    text = values.get("text") or {}
    if isinstance(text, str):
        known = before.text if before is not None else {}
        text = dict(known) | {_language(study, language): text}
    text = {k: v for k, v in text.items() if v and v.strip()}
    item_id = str(values.get("id") or "").strip() or (make_code(next(iter(text.values())), "item") if text else "")
    fields: dict[str, Any] = {"id": item_id, "text": text, "required": bool(values.get("required"))}
    role = values.get("role")
    if role not in (None, ""):
        fields["role"] = role
    elif before is not None:
        fields["role"] = before.role
    try:
        item = ConsentItem(**fields)
    except ValidationError as exc:
        raise Refused("Please correct the entries marked.", locate_errors(exc)) from None
    for i, other in enumerate(draft.consent_items):
        if i != index and other.id == item.id:
            msg = f"The id '{item.id}' is already used by another consent item; choose another."
            raise Refused(msg, {"id": msg})
        if i != index and item.role is not ConsentRole.plain and other.role is item.role:
            msg = (
                f"The item '{other.id}' already has the role '{ROLE_NAMES[item.role]}'; a role other than "
                "plain goes to one item only. Make that one plain first, or choose another role."
            )
            raise Refused(msg, {"role": msg})
    items = list(draft.consent_items)
    if index is None:
        items.append(item)
        action = "consent item added"
    else:
        if not 0 <= index < len(items):
            raise NotFound("That consent item is no longer in the draft.")
        items[index] = item
        action = "consent item changed"
    return _save(
        study,
        row,
        draft.model_copy(update={"consent_items": items}),
        actor,
        action,
        item.id,
        {"required": item.required, "role": item.role.value},
    )


def remove_consent_item(study: Study, draft_id: str, index: int, actor: str) -> Draft:
    row, draft = _draft(study, draft_id)
    if not 0 <= index < len(draft.consent_items):
        raise NotFound("That consent item is no longer in the draft.")
    gone = draft.consent_items[index]
    items = [it for i, it in enumerate(draft.consent_items) if i != index]
    return _save(study, row, draft.model_copy(update={"consent_items": items}), actor, "consent item removed", gone.id)


def publish_draft(study: Study, draft_id: str, change_summary: str, approved_by: str) -> ProtocolVersion:
    """Publish the draft as the next protocol version, with who approved it and what changed."""
    row, draft = _draft(study, draft_id)
    problems = draft_problems(draft)
    if problems:
        raise Refused("This draft cannot be published yet: " + " ".join(problems))
    languages = study.repo.study().languages
    missing = missing_translations(draft, languages)
    if missing:
        raise Refused(
            "This draft cannot be published yet: every text a participant reads needs each of the "
            "study's languages. Missing: " + "; ".join(missing) + "."
        )
    gaps = page_word_gaps(languages, draft.page_words)
    if gaps:
        raise Refused(
            "This draft cannot be published yet: the phone pages cannot speak every study language. " + "; ".join(gaps) + "."
        )
    if not approved_by.strip():
        raise Refused("Please say who approved this version.", {"approved_by": "Please say who approved this version."})
    if study.repo.current_protocol() is not None and not change_summary.strip():
        msg = "Please say in a sentence what changed in this version."
        raise Refused(msg, {"change_summary": msg})

    def mark(tx, version: ProtocolVersion) -> None:
        tx.put("drafts", row, to_doc(draft.model_copy(update={"published_as": version.number, "updated_at": utcnow()})))

    return publish_protocol_version(
        study,
        draft.fields,
        draft.consent_text,
        [to_doc(i) for i in draft.consent_items],
        change_summary.strip() or "First version.",
        approved_by.strip(),
        proposal_id=draft.proposal_id,
        also=mark,
        page_words=draft.page_words,
    )

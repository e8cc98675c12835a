"""Opening a study: older data brought up to date once, said plainly (or, opened read-only, what
is still as an older version left it).

Links are kept as fingerprints only (private links), and invite links sealed with this laptop's
key; a folder from before is converted the first time a study is opened for writing.
"""

from __future__ import annotations

from ..domain.links import LINK_FINGERPRINT, UNLINKED, fingerprinted, seal_token, stored_invite
from ..store import DataFolder, KeyFileProblem, key_path, laptop_key
from . import notices
from .common import NotFound, Study, audit, change


def open_study(data: DataFolder, study_id: str) -> Study:
    if not data.has_study(study_id):
        raise NotFound(f"There is no study '{study_id}' in {data.path}. `citizen study list` shows the studies.")
    study = Study(data.study(study_id), data.laptop_id)
    if not study.store.readonly:
        fingerprint_links(study)
        seal_invite_links(study)
    else:
        old_links_notice(study)
    return study


def _private_links_as_is(study: Study) -> list[tuple[int, dict]]:
    return [
        (row, doc)
        for row, doc in study.store.table("participants").rows()
        if isinstance(doc.get("token"), str) and not doc["token"].startswith((LINK_FINGERPRINT, UNLINKED))
    ]


def fingerprint_links(study: Study) -> int:
    """Data from before links were stored as fingerprints: replace each private link token by its
    fingerprint, once, in one change. The links keep working; a copy of the data no longer opens a page."""
    old = _private_links_as_is(study)
    if not old:
        return 0
    with change(study) as tx:
        for row, doc in old:
            tx.put("participants", row, fingerprinted(doc))
        audit(tx, "citizen", "private links stored as fingerprints", study.id, {"participants": len(old)}, laptop=study.laptop)
    study.store.forget_old_copies("participants")  # the journal and the last good copies held the links too
    tell(
        study,
        f"Study '{study.id}': the private links of {len(old)} participants are now stored as fingerprints "
        "only. Their links still work; a copy of the data folder can no longer open their pages.",
    )
    return len(old)


def tell(study: Study, notice: str) -> None:
    """Say once what opening the study changed (or could not change)."""
    study.notices.append(notice)
    notices.tell(notice)


def _kept_as_is(study: Study) -> list[tuple[int, dict]]:
    return [(row, doc) for row, doc in study.store.table("invites").rows() if isinstance(doc.get("token"), str)]


def seal_invite_links(study: Study) -> int:
    """An older folder's invites, their tokens stored as they are: keep each as its fingerprint and
    sealed with this laptop's key, once, in one change; old copies on disk are rewritten. The posters
    keep working and this laptop still shows them; a copy of the data no longer can."""
    old = _kept_as_is(study)
    if not old:
        return 0
    try:
        key = laptop_key(create=True)
    except KeyFileProblem as exc:
        tell(
            study,
            f"Study '{study.id}': its {len(old)} invite links are still stored as they are, from an older version. {exc}",
        )
        return 0
    assert key is not None
    with change(study) as tx:
        for row, doc in old:
            tx.put("invites", row, dict(stored_invite(doc), sealed=seal_token(key, doc["id"], doc["token"])))
        audit(tx, "citizen", "invite links sealed", study.id, {"invites": len(old)}, laptop=study.laptop)
    study.store.forget_old_copies("invites")  # the journal, the last good copies and an index held them
    tell(
        study,
        f"Study '{study.id}': its {len(old)} invite links are now stored as fingerprints, sealed with this "
        f"laptop's key ({key_path()}). Posters keep working and this laptop still shows their QR codes; "
        "a copy of the data folder can no longer show or open them.",
    )
    return len(old)


def old_links_notice(study: Study) -> None:
    """A study opened read-only from an older version: say that it is not converted yet (nothing is
    changed, nothing is written: not even an index)."""
    invites = len(_kept_as_is(study))
    if invites:
        tell(
            study,
            f"Study '{study.id}' was written by an older version: its {invites} invite links (and any "
            "private links from before) are still stored as they are. Opened read-only, it is not changed; "
            "open it for writing once (the terminal app, or `citizen serve`) to keep only fingerprints.",
        )

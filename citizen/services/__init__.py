"""Use cases: the only code that changes a study, each change with its audit event."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .common import NotFound, NotOpen, Refused, ServiceError, Study
    from .contributions import (
        add_contribution,
        correct_contribution,
        give_feedback,
        post_update,
        reply_to_feedback,
        review_contributions,
    )
    from .opening import open_study
    from .participation import (
        InviteNotOpen,
        change_consent,
        close_invite,
        create_invite,
        enrol_participant,
        relink_participant,
        withdraw,
    )
    from .proposals import add_proposal_note, decide_proposal, propose_change
    from .studies import (
        create_study,
        export_protocol,
        import_protocol,
        load_protocol_file,
        publish_protocol_version,
        set_study_status,
    )

# Each name is imported from its module when it is first asked for: a part of the program that
# needs one use case (or none: the studies list) does not load every other one and the record
# models they use.
_WHERE = {
    "NotFound": "common",
    "NotOpen": "common",
    "Refused": "common",
    "ServiceError": "common",
    "Study": "common",
    "open_study": "opening",
    "add_contribution": "contributions",
    "correct_contribution": "contributions",
    "give_feedback": "contributions",
    "post_update": "contributions",
    "reply_to_feedback": "contributions",
    "review_contributions": "contributions",
    "InviteNotOpen": "participation",
    "change_consent": "participation",
    "close_invite": "participation",
    "create_invite": "participation",
    "enrol_participant": "participation",
    "relink_participant": "participation",
    "withdraw": "participation",
    "add_proposal_note": "proposals",
    "decide_proposal": "proposals",
    "propose_change": "proposals",
    "create_study": "studies",
    "export_protocol": "studies",
    "import_protocol": "studies",
    "load_protocol_file": "studies",
    "publish_protocol_version": "studies",
    "set_study_status": "studies",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "InviteNotOpen",
    "NotFound",
    "NotOpen",
    "Refused",
    "ServiceError",
    "Study",
    "add_contribution",
    "add_proposal_note",
    "change_consent",
    "close_invite",
    "correct_contribution",
    "create_invite",
    "create_study",
    "decide_proposal",
    "enrol_participant",
    "relink_participant",
    "reply_to_feedback",
    "export_protocol",
    "give_feedback",
    "import_protocol",
    "load_protocol_file",
    "open_study",
    "post_update",
    "propose_change",
    "publish_protocol_version",
    "review_contributions",
    "set_study_status",
    "withdraw",
]

"""Use cases: the only code that changes a study, each change with its audit event."""

from .common import NotFound, NotOpen, Refused, ServiceError, Study, open_study
from .contributions import (
    add_contribution,
    correct_contribution,
    give_feedback,
    post_update,
    review_contributions,
)
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

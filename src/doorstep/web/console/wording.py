"""The console's labels for the requests' codes: kind, status and channel.

``KINDS``, ``STATUSES`` and ``CHANNELS`` map each code of
:class:`~doorstep.privacy.requests.models.RequestKind`, ``RequestStatus`` and
``RequestChannel`` to the words staff read; the strings are marked for
translation and the templates translate them when they render.
"""

from __future__ import annotations

from doorstep.privacy.requests.models import RequestChannel, RequestKind, RequestStatus
from doorstep.web.i18n import _

KINDS: dict[str, str] = {
    RequestKind.ACCESS: _("Access to the data"),
    RequestKind.PORTABILITY: _("Portability (a copy to take elsewhere)"),
    RequestKind.CORRECTION: _("Correction"),
    RequestKind.DELETION: _("Deletion"),
    RequestKind.RESTRICTION: _("Restriction of a use"),
    RequestKind.OBJECTION: _("Objection to a use"),
    RequestKind.CONSENT_WITHDRAWAL: _("Withdrawal of consent"),
    RequestKind.DEREGISTRATION: _("Deregistration of the account"),
}
STATUSES: dict[str, str] = {
    RequestStatus.RECEIVED: _("Received"),
    RequestStatus.VERIFYING: _("Waiting for proof of identity"),
    RequestStatus.IN_PROGRESS: _("In progress"),
    RequestStatus.EXTENDED: _("Extended"),
    RequestStatus.COMPLETED: _("Completed"),
    RequestStatus.REFUSED: _("Refused"),
}
CHANNELS: dict[str, str] = {
    RequestChannel.APP: _("App"),
    RequestChannel.WEB_FORM: _("Web form"),
    RequestChannel.EMAIL: _("E-mail"),
    RequestChannel.POST: _("Post"),
    RequestChannel.STAFF: _("Staff"),
}

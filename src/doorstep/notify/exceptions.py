"""Errors of the notify area.  None carries an address, a phone number or message text.

Hierarchy::

    DoorstepError
    ├── InvalidInputError
    │   ├── TemplateError               the message cannot be rendered (raised at queue time)
    │   │   ├── UnknownTemplateError    no template has that key
    │   │   └── TemplateParamsError     a parameter is missing, unexpected or not text
    │   └── InvalidRecipientError       the address, number or token breaks a named rule
    ├── NotFoundError
    │   └── MessageNotFoundError        no outbox message has that id
    └── ConflictError
        └── MessageStateError           the message's status does not allow it (retry a sent one)

    DeliveryError (Exception)           an adapter could not hand a message over; ``code``
                                        names why, ``permanent`` says whether a retry can help
"""

from __future__ import annotations

from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError


class TemplateError(InvalidInputError):
    """The message cannot be rendered from its template and parameters."""

    code = "template-error"
    title = "Message cannot be rendered"


class UnknownTemplateError(TemplateError):
    """No template has the key (``fields['template']``)."""

    code = "unknown-template"
    title = "Unknown message template"


class TemplateParamsError(TemplateError):
    """Parameters do not fit the template; ``fields`` name the template and parameter."""

    code = "template-params"
    title = "Message parameters do not fit the template"


class InvalidRecipientError(InvalidInputError):
    """The recipient breaks a rule; ``fields`` name the field and the rule, never the value."""

    code = "invalid-recipient"
    title = "Invalid recipient"


class MessageNotFoundError(NotFoundError):
    """No outbox message has the id (``fields['outbox_id']``)."""

    code = "message-not-found"
    title = "No such message"


class MessageStateError(ConflictError):
    """The message's status (``fields['status']``) does not allow the operation."""

    code = "message-state"
    title = "The message's status does not allow this"


class DeliveryError(Exception):
    """An adapter could not deliver a message.

    ``code`` is a short name such as ``smtp_unavailable`` or ``recipient_refused``
    and is the whole of the exception's text: a provider's reply can quote the
    address, so it is never kept.  ``permanent`` means a retry cannot help
    (the recipient or the content was refused); anything else is retried with
    backoff by the job system.
    """

    def __init__(self, code: str, *, permanent: bool = False) -> None:
        super().__init__(code)
        self.code = code
        self.permanent = permanent

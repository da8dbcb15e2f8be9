"""Inquiries: general privacy questions, answered by the privacy desk within 30 days.

A question that is not a rights request (CPE-IX.2, CORP-9.1) reaches the desk from
the app (signed in), the privacy center's public form or the privacy mailbox
(``doorstep inbox serve``, CPE-IV.4.b).  Each one is an :class:`~.models.Inquiry`
owned by the pack's Data Protection Compliance Department (CPE-IX.1), due
``inquiries_reply_days`` after receipt, reminded and flagged overdue like requests,
and answered by e-mail through the outbox.

* :mod:`.models` — the table; what is stored is sealed with the subject's key;
* :mod:`.intake` — opening an inquiry and the auto-reply;
* :mod:`.desk` — the queue, reading a question, answering, reminders;
* :mod:`.mailbox` — the SMTP receiver the operator's mail server forwards to;
* :mod:`.api`, :mod:`.cli`, :mod:`.inbox_cli` — HTTP, ``doorstep requests inquiries``,
  ``doorstep inbox``.

It sits inside :mod:`doorstep.privacy.requests` (the top privacy line) and imports
what that package may: everything below it, never its siblings.
"""

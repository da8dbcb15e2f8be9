"""Notifications: an outbox table and delivery adapters (SMTP e-mail, SMS, push).

* :mod:`.services` — ``queue_email``/``queue_sms``/``queue_push`` write an outbox
  row and its delivery job in the caller's transaction; list, retry, cancel, purge;
* :mod:`.templates` — named templates rendered by safe ``{name}`` substitution
  (the shipped ones are in :mod:`.catalogue`);
* :mod:`.adapters` — the ``Mailer``/``SmsSender``/``PushSender`` Protocols, the
  console and recording implementations, the SMTP one (:mod:`._smtp`), and
  :func:`~.adapters.from_settings`;
* :mod:`.delivery` and :mod:`.tasks` — the idempotent delivery job and the purge;
* :mod:`.cli` — ``doorstep notify list|retry|cancel``.

See decision 0010.
"""

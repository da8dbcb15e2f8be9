"""The message templates Doorstep ships: English message ids and their translations.

Each entry names its parameters by the fields it uses.  The texts are message ids
marked with ``_()``: :func:`register_all` registers the English text and, for
every language with a catalogue (:mod:`doorstep.locale`), its translation under
``locale=<language>`` (the registry checks that it keeps the same fields).  A
message is rendered in the locale it was queued with (the recipient's language;
English when none is known).  Parameters listed in :data:`WORDED` carry message
ids themselves (a refusal reason, a complaint route) and are translated too.
Texts never ask for personal data to be sent back by e-mail (the policy advises
against it).

Key (parameters): when it is sent.

* ``account.verify_email`` (code): sign-up or e-mail change, to prove the address;
* ``account.verify_phone`` (code): sign-up or number change, to prove the number;
* ``account.password_reset`` (code): the subscriber asked to reset the password;
* ``account.signup_attempt`` (none): someone tried to sign up with a taken identifier;
* ``account.guardian_consent`` (link): a child's account waits for a guardian;
* ``account.deregistered`` (none): the account was deleted;
* ``account.deregistered_router`` (outcome): the same, with where the removal of the
  subscriber's settings from their routers stands (decision 0042);
* ``account.deregistration_refused`` (none): a request to delete the account was refused;
* ``device.bound`` (device): a router or gateway was bound to the account;
* ``device.settings_removed`` / ``device.settings_not_removed`` (removed, outcome): the
  subscriber's settings were (or could not be) removed from the router that left them
  on that date (decision 0042);
* ``request.received`` (reference, due): a data-subject request was received;
* ``request.extended`` (reference, due, reason): its deadline was extended;
* ``request.refused`` (reference, reason, complaint): it was refused, and where to complain;
* ``request.partly_refused`` (reference, reason, complaint): an erasure was carried out but
  for what a legal hold keeps, which goes once the hold ends;
* ``request.completed`` (reference): it was carried out;
* ``request.completed_router`` (reference, outcome): the same, with where the removal of the
  subscriber's settings from their routers stands (decision 0042);
* ``request.export_ready`` (reference, expires): the requested copy of the data is ready;
* ``inquiry.received`` (reference, due): auto-reply to a privacy question, with the advice
  to use the app or the privacy center instead of sending personal data by e-mail;
* ``inquiry.answered`` (reference, answer): the privacy desk's answer to a question;
* ``inquiry.answered_report`` (reference, answer, name, version, assessed_on, risk, summary,
  evidence): the answer with a published security impact assessment report (CPE-IV.5);
* ``recipient.erasure`` / ``recipient.correction`` (subject, reference): to a recipient
  of the operator's data, asking it to erase or correct what it received.
* ``transfer.notice`` (purpose, data, recipient, destination, mechanism): before data of
  the subscriber leaves its home country, where it goes, to whom and on which ground (CORP-7.3);
* ``transfer.notice_sms`` (the same): the same, short, by SMS to a subscriber known by
  mobile number only.
* ``policy.changed`` (version, effective, summary, changes): a major change of the
  privacy policy, with the specific changes, before it takes effect (CPE-VII.3);
* ``policy.changed_sms`` (version, effective): the same, short, by SMS (CORP-8.2).
* ``controller.changed`` (successor, contact, effective, version): a change of controller;
  the successor stays bound to the version the subscriber accepted (CPE-III.2.b).
* ``controls.overdue`` (control, kind, state, due, claims): to the privacy desk, when a
  control of the controls register has lapsed;
* ``controls.assessment`` (name, version, assessed_on, risk, summary, evidence): a
  published security impact assessment, to whoever asked for it.
* ``incident.notice`` / ``incident.notice_significant`` (reference, basic_situation,
  possible_impact, measures, self_protection_advice, remedies): a security incident
  touched the subscriber's data; the five parts of CPE-IV.7.a, written by the desk in
  the subscriber's language (the second for an incident rated significant risk).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from doorstep.locale import _, available, translations
from doorstep.notify._removal_notices import REMOVAL_NOTICES
from doorstep.notify.templates import TemplateRegistry

#: Parameters whose values are message ids, translated with the template.
WORDED = frozenset({"reason", "complaint", "outcome"})

#: ``(key, subject, text, html)`` of every shipped template, as message ids.
SHIPPED: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "account.verify_email",
        _("Your verification code"),
        _(
            "Your code to confirm this e-mail address is {code}.\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        _(
            "<p>Your code to confirm this e-mail address is <strong>{code}</strong>.</p>"
            "<p>If you did not ask for this, you can ignore this message.</p>"
        ),
    ),
    (
        "account.verify_phone",
        _("Your verification code"),
        _("Your Doorstep code is {code}. Do not share it with anyone."),
        None,
    ),
    (
        "account.password_reset",
        _("Reset your password"),
        _(
            "Your code to reset your password is {code}.\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        _(
            "<p>Your code to reset your password is <strong>{code}</strong>.</p>"
            "<p>If you did not ask for this, you can ignore this message.</p>"
        ),
    ),
    (
        "account.signup_attempt",
        _("Someone tried to sign up with your details"),
        _(
            "Someone tried to create an account with this address or number, which already "
            "belongs to your account. If it was you, sign in or reset your password instead.\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        None,
    ),
    (
        "account.guardian_consent",
        _("A child's account needs your consent"),
        _(
            "A child has asked to create an account and named you as their parent or "
            "guardian. The account stays inactive until you decide:\n\n{link}\n\n\n"
            "If you did not ask for this, you can ignore this message.\n"
        ),
        _(
            "<p>A child has asked to create an account and named you as their parent or "
            "guardian. The account stays inactive until you decide.</p>"
            '<p><a href="{link}">Review the request</a></p>'
            "<p>If you did not expect this, you can ignore this message.</p>"
        ),
    ),
    (
        "account.deregistered",
        _("Your account has been deleted"),
        _(
            "Your account has been deleted. We have stopped using its information and are "
            "deleting or anonymising it.\n"
        ),
        None,
    ),
    (
        "account.deregistration_refused",
        _("Your account could not be deleted yet"),
        _(
            "We could not delete your account as you asked. The privacy center tells you why "
            "and what you can do next.\n"
        ),
        None,
    ),
    (
        "device.bound",
        _("A device was added to your account"),
        _("{device} was added to your account. If this was not you, remove it in the app.\n"),
        None,
    ),
    (
        "request.received",
        _("We have received your request"),
        _(
            "We have received your request {reference}. We will answer by {due}.\n"
            "You can follow it in the privacy center.\n"
        ),
        None,
    ),
    (
        "request.extended",
        _("We need more time for your request"),
        _(
            "We need more time to answer your request {reference}, because of its {reason}. "
            "We will answer by {due}.\nYou can follow it in the privacy center.\n"
        ),
        None,
    ),
    (
        "request.refused",
        _("We cannot carry out your request"),
        _(
            "We cannot carry out your request {reference}. Reason: {reason}.\n"
            "If you disagree, you may complain to {complaint}.\n"
        ),
        None,
    ),
    (
        "request.partly_refused",
        _("We have erased your data, except what the law requires us to keep"),
        _(
            "We have carried out your request {reference}, except for part of your data: "
            "{reason}. We will erase that part as well once the obligation ends, without "
            "you asking again.\nIf you disagree, you may complain to {complaint}.\n"
        ),
        None,
    ),
    (
        "request.completed",
        _("Your request has been carried out"),
        _("We have carried out your request {reference}.\n"),
        None,
    ),
    (
        "request.export_ready",
        _("Your data is ready to download"),
        _(
            "The copy of your data you asked for ({reference}) is ready. Download it from "
            "the privacy center before {expires}; after that it is deleted.\n"
        ),
        None,
    ),
    (
        "inquiry.received",
        _("We have received your question"),
        _(
            "We have received your question {reference}. We will answer by {due}.\n\n"
            "Please do not send personal information by e-mail: e-mail is not a secure "
            "channel. If your question is about your account or your data, use the app or "
            "the privacy center, where you are signed in and your identity is already "
            "proven. We will never ask you to send identity documents by e-mail.\n"
        ),
        None,
    ),
    (
        "inquiry.answered",
        _("Our answer to your question"),
        _("Our answer to your question {reference}:\n\n{answer}\n"),
        None,
    ),
    (
        "inquiry.answered_report",
        _("Our answer to your question, with the report you asked for"),
        _(
            "Our answer to your question {reference}:\n\n{answer}\n\n"
            "The report you asked for, our personal information security impact "
            "assessment:\n\n"
            "{name}, version {version} of {assessed_on} (risk found: {risk}):\n\n{summary}\n\n"
            "The full report: {evidence}\n"
        ),
        None,
    ),
    (
        "policy.changed",
        _("Our privacy policy changes on {effective}"),
        _(
            "We are changing our privacy policy. Version {version} takes effect on "
            "{effective}.\n\n{summary}\n\nWhat changes:\n{changes}\n\n"
            "Where a change needs your agreement, it applies to you only once you accept it: "
            "the privacy center and the app ask you, and until you answer the version you "
            "accepted before still applies.\n"
        ),
        None,
    ),
    (
        "policy.changed_sms",
        _("Privacy policy change"),
        _(
            "Our privacy policy changes on {effective} (version {version}). The privacy "
            "center and the app show what changes and ask for your answer."
        ),
        None,
    ),
    (
        "controller.changed",
        _("Your data is taken over by {successor}"),
        _(
            "From {effective}, {successor} takes over the service and the personal data we "
            "hold about you. {successor} stays bound by our privacy policy in the version "
            "you accepted ({version}). If it wants to use your data under new terms, it "
            "must first ask you, and until you accept them nothing changes for you. "
            "Questions about the takeover: {contact}.\n"
        ),
        None,
    ),
    (
        "recipient.erasure",
        _("Erasure request for a data subject"),
        _(
            "The data subject {subject} has had their personal data erased (our reference "
            "{reference}). Please erase the personal data of this subject that we disclosed "
            "to you, and confirm to us when it is done.\n"
        ),
        None,
    ),
    (
        "transfer.notice",
        _("Your data is sent to another country"),
        _(
            "To {purpose}, we send {data} to {recipient} in {destination}. We do so on the "
            "ground of {mechanism}. You can ask us about this transfer, or object to it, "
            "in the privacy center.\n"
        ),
        None,
    ),
    (
        "transfer.notice_sms",
        _("Your data is sent to another country"),
        _(
            "We send {data} to {recipient} in {destination} to {purpose}, on the ground of "
            "{mechanism}. The privacy center tells more and lets you object."
        ),
        None,
    ),
    (
        "recipient.correction",
        _("Correction of a data subject's data"),
        _(
            "We have corrected personal data of the data subject {subject} (our reference "
            "{reference}). Please fetch the corrected record and update your copy, and "
            "confirm to us when it is done.\n"
        ),
        None,
    ),
    (
        "controls.overdue",
        _("A security control is overdue"),
        _(
            "The control {control} ({kind}) of the controls register has lapsed: {state}, "
            "due {due}.\nClaims of the privacy notice now flagged as unsupported: {claims}.\n"
            "Record the new evidence in the operator console (Controls).\n"
        ),
        None,
    ),
    (
        "controls.assessment",
        _("Our security impact assessment report"),
        _(
            "You asked for our personal information security impact assessment report.\n\n"
            "{name}, version {version} of {assessed_on} (risk found: {risk}):\n\n{summary}\n\n"
            "The full report: {evidence}\n"
        ),
        None,
    ),
    (
        "incident.notice",
        _("A security incident involved your personal data"),
        _(
            "We are writing to tell you of a security incident that involved your personal "
            "data (our reference {reference}).\n\n"
            "What happened:\n{basic_situation}\n\n"
            "What it may mean for you:\n{possible_impact}\n\n"
            "What we have done and will do:\n{measures}\n\n"
            "What you can do to protect yourself:\n{self_protection_advice}\n\n"
            "How we make it right:\n{remedies}\n"
        ),
        None,
    ),
    (
        "incident.notice_significant",
        _("Important: a security incident may put your personal data at risk"),
        _(
            "We are writing to tell you of a security incident that may pose a significant "
            "risk to you (our reference {reference}). Please read this notice carefully.\n\n"
            "What happened:\n{basic_situation}\n\n"
            "What it may mean for you:\n{possible_impact}\n\n"
            "What we have done and will do:\n{measures}\n\n"
            "What you can do to protect yourself:\n{self_protection_advice}\n\n"
            "How we make it right:\n{remedies}\n"
        ),
        None,
    ),
    *REMOVAL_NOTICES,
)


def register_all(registry: TemplateRegistry, languages: Iterable[str] | None = None) -> None:
    """Register every shipped template in ``registry``: English, then each of ``languages``
    (default: every language with a catalogue) translated through its catalogue."""
    for key, subject, text, html in SHIPPED:
        registry.register(key, subject=subject, text=text, html=html, worded=WORDED)
    for language in available()[1:] if languages is None else languages:
        gettext = translations(language).gettext
        for key, subject, text, html in SHIPPED:
            registry.register(
                key,
                subject=gettext(subject),
                text=gettext(text),
                html=None if html is None else gettext(html),
                locale=language,
            )


@cache
def default_templates() -> TemplateRegistry:
    """The templates Doorstep ships (this module's), loaded once."""
    registry = TemplateRegistry()
    register_all(registry)
    return registry

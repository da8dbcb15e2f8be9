"""Strings ready for translation: gettext in Python and in templates.

Every string a person reads goes through ``_()`` (Python) or ``{{ _("…") }}`` /
``{% trans %}`` (templates).  The catalogues are Doorstep's, not the web's:
:mod:`doorstep.locale` holds them (English is the source language; German
ships), compiles them with Babel and marks the pseudo-locale.  This module
re-exports what the pages need.

A page speaks the language the visitor chose (the preference cookie, once
consented), else the best match of the browser's ``Accept-Language``, else
English (:func:`negotiate`, Babel's ``negotiate_locale``).  The subscriber's
stored language (``accounts.language``, set at sign-up and changed on the
account page or by ``PUT /me/language``) is what e-mails and notices are
written in.

:class:`PseudoTranslations` wraps every translated string in ``⟦…⟧``; the test
suite renders the pages with it and fails on any visible text left unwrapped,
so a string cannot slip through untranslatable.
"""

from __future__ import annotations

from doorstep.locale import (
    DOMAIN,
    PSEUDO,
    SOURCE,
    PseudoTranslations,
    _,
    available,
    negotiate,
    translations,
)

__all__ = [
    "DOMAIN",
    "PSEUDO",
    "SOURCE",
    "PseudoTranslations",
    "_",
    "available",
    "negotiate",
    "translations",
]

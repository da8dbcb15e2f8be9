"""Strings ready for translation: gettext in Python and in templates.

Every string a person reads goes through ``_()`` (Python) or ``{{ _("…") }}`` /
``{% trans %}`` (templates).  Doorstep ships English, the source language;
an operator adds ``web/locale/<lang>/LC_MESSAGES/doorstep.mo`` (compiled with
Babel or ``msgfmt``) and the pages speak it to browsers that ask for it
(``Accept-Language``, or the language preference cookie once consented).

:class:`PseudoTranslations` wraps every translated string in ``⟦…⟧``; the test
suite renders the pages with it and fails on any visible text left unwrapped,
so a string cannot slip through untranslatable.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "doorstep"
SOURCE = "en"
PSEUDO = "x-pseudo"


class PseudoTranslations(gettext.NullTranslations):
    """Marks every translated string, so untranslatable text stands out."""

    def gettext(self, message: str) -> str:
        """``⟦message⟧``."""
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """``⟦singular or plural⟧``."""
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"


def available() -> tuple[str, ...]:
    """The languages the pages can speak: English plus every compiled catalogue."""
    found = sorted(
        path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")
    )
    return (SOURCE, *found)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language`` (English: none needed; pseudo for tests)."""
    if language == PSEUDO:
        return PseudoTranslations()
    if language == SOURCE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The language to speak: the consented preference, else the browser's best match."""
    languages = available()
    if preferred in languages:
        return preferred
    weighted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        weighted.append((weight, tag.strip().lower().split("-")[0]))
    for _weight, tag in sorted(weighted, key=lambda item: -item[0]):
        if tag in languages:
            return tag
    return SOURCE


def _(message: str) -> str:
    """Mark ``message`` for translation (pages translate it when they render)."""
    return message

"""The languages Doorstep speaks: message catalogues, read with Babel.

Every string a person reads — pages, e-mails, notices, refusal texts, complaint
routes, the export README, RoPA wording — is an English message id marked with
:func:`_` (or ``{{ _("…") }}`` in templates).  ``doorstep.pot`` beside this
module lists them all (``python -m doorstep.locale.extract`` refreshes it and
the ``.po`` files); ``<lang>/LC_MESSAGES/doorstep.po`` translates them.

There is no compiled ``.mo`` in the tree: :func:`translations` compiles a
language's ``.po`` in memory with Babel the first time it is asked for, and
keeps it (so an editable install and a wheel behave the same).  Fuzzy entries
are left out; an untranslated id falls back to English.

:class:`PseudoTranslations` (language :data:`PSEUDO`) wraps every translated
string in ``⟦…⟧``; tests render with it and fail on visible text left unwrapped.

This package sits at the bottom of the layer order: any layer may import it.
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent
DOMAIN = "doorstep"
SOURCE = "en"
PSEUDO = "x-pseudo"
POT = LOCALE_DIR / f"{DOMAIN}.pot"


class PseudoTranslations(gettext.NullTranslations):
    """Marks every translated string, so untranslatable text stands out."""

    def gettext(self, message: str) -> str:
        """``⟦message⟧``."""
        return f"⟦{message}⟧"

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        """``⟦singular or plural⟧``."""
        return f"⟦{msgid1 if n == 1 else msgid2}⟧"


def po_file(language: str) -> Path:
    """Where the catalogue of ``language`` lives (it may not exist)."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def available() -> tuple[str, ...]:
    """The languages Doorstep speaks: English plus every catalogue shipped."""
    found = sorted(
        path.parent.parent.name for path in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    )
    return (SOURCE, *found)


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of ``language``, compiled once from its ``.po`` (English and unknown
    languages: no translation; :data:`PSEUDO`: the marking pseudo-locale)."""
    if language == PSEUDO:
        return PseudoTranslations()
    path = po_file(language)
    if language == SOURCE or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext_for(language: str | None) -> gettext.NullTranslations:
    """:func:`translations` of ``language``; English for None or a language not shipped."""
    if language == PSEUDO or language in available():
        return translations(language)
    return translations(SOURCE)


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The language to speak: ``preferred`` when shipped, else the best match of an
    ``Accept-Language`` header (weights honoured, ``de-AT`` matches ``de``), else English."""
    languages = available()
    if preferred in languages:
        return preferred
    weighted: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _sep, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag.strip() and weight > 0:
            weighted.append((weight, tag.strip().lower()))
    ranked = [tag for _weight, tag in sorted(weighted, key=lambda item: -item[0])]
    return negotiate_locale(ranked, languages, sep="-", aliases={}) or SOURCE


def _(message: str) -> str:
    """Mark ``message`` for translation; it is translated where it is shown."""
    return message

"""The notice the app shows before asking for consent, in the subscriber's language.

The app's consent API hands out, for every consent-based purpose of the pack,
the notice text to show and its SHA-256; a grant names that hash, and the ledger
stores it (decision 0007), so what the subscriber read can be proven.  The
text is the pack's own words (``function`` and ``manual_path`` of
``consent.yaml``) in the subscriber's language when the pack is written in it
(``policy.languages``), otherwise in English, with the fixed sentences
translated from the message catalogue into the same language.  The same
purpose, pack and language always give the same text, hence the same hash.
"""

from __future__ import annotations

from dataclasses import dataclass

from doorstep.locale import _, gettext_for
from doorstep.privacy.consent.services import notice_hash
from doorstep.privacy.consent.terms import BASE_LANGUAGE, ConsentPurpose, ConsentTerms

#: The fixed sentences of a notice (catalogue strings: translated like the pages').
WITHOUT_IT = _("Without it")
IF_YOU_CHANGE_YOUR_MIND = _("If you change your mind")
WITHDRAWAL = _(
    "You can withdraw your consent here at any time. Withdrawing stops any use from then on; "
    "it does not undo what was done while you agreed."
)


@dataclass(frozen=True, slots=True)
class AppNotice:
    """One purpose's notice: its language, its words and the SHA-256 a grant names."""

    purpose: str
    language: str
    function: str
    manual_path: str
    text: str

    @property
    def hash(self) -> str:
        """SHA-256 (hex) of :attr:`text`, as the ledger stores it."""
        return notice_hash(self.text)


def notice_language(terms: ConsentTerms, language: str | None) -> str:
    """``language`` when the pack's terms are written in it, else English."""
    return language if language in terms.languages else BASE_LANGUAGE


def app_notice(item: ConsentPurpose, terms: ConsentTerms, language: str | None) -> AppNotice:
    """The notice of ``item`` for a subscriber who reads ``language``."""
    chosen = notice_language(terms, language)
    words = item.text(chosen)
    gettext = gettext_for(chosen).gettext
    lines = [words.function]
    if words.manual_path:
        lines.append(f"{gettext(WITHOUT_IT)}: {words.manual_path}")
    lines.append(f"{gettext(IF_YOU_CHANGE_YOUR_MIND)}: {gettext(WITHDRAWAL)}")
    return AppNotice(
        purpose=item.key,
        language=chosen,
        function=words.function,
        manual_path=words.manual_path,
        text="\n".join(lines),
    )


def notices_of(item: ConsentPurpose, terms: ConsentTerms) -> dict[str, AppNotice]:
    """The notice of ``item`` in every language of the pack, by SHA-256 of its text."""
    found = (app_notice(item, terms, language) for language in terms.languages)
    return {notice.hash: notice for notice in found}

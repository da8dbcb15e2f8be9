"""No message Doorstep sends asks for identity documents by e-mail (CPE-IV.4.b).

Every template of the catalogue, in every language it is registered in, is
scanned sentence by sentence: a sentence that names an identity document (ID
card, passport, driving licence, a scan or photo of one, "identity document")
must be a negation ("never", "do not") — the advice not to send one.
"""

from __future__ import annotations

import re

import pytest

from doorstep.notify.catalogue import SHIPPED, default_templates

#: What names an identity document, in English and German.
_DOCUMENT = re.compile(
    r"\b(?:ID|identity|identification)[- ](?:card|document|scan|copy|proof)s?\b"
    r"|\bpassports?\b|\bdriv(?:ing|er'?s) licen[cs]e\b|\bcopy of your (?:ID|identity)\b"
    r"|\bAusweis\w*|\bReisepass\w*|\bFührerschein\w*|\bIdentitätsnachweis\w*",
    re.IGNORECASE,
)
_NEGATION = re.compile(r"\b(?:never|do not|don't|nicht|nie|niemals|keine?n?)\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def offending(text: str) -> list[str]:
    """The sentences of ``text`` that name an identity document without negating it."""
    return [
        sentence
        for sentence in _SENTENCE.split(text)
        if _DOCUMENT.search(sentence) and not _NEGATION.search(sentence)
    ]


def test_the_scan_finds_a_request_for_an_id_scan() -> None:
    assert offending("Please reply with a scan of your passport. Thank you.")
    assert offending("Attach a copy of your ID card to this e-mail.")
    assert offending("Bitte senden Sie uns eine Kopie Ihres Ausweises.")
    assert not offending("We will never ask you to send identity documents by e-mail.")
    assert not offending("Wir werden Sie nie bitten, Ausweisdokumente per E-Mail zu senden.")


def _every_rendering() -> list[tuple[str, str, str]]:
    registry = default_templates()
    found = []
    for key in registry.keys():  # noqa: SIM118 - a registry, not a dict
        params = {name: name for name in registry.fields(key)}
        for locale in registry.locales(key):
            rendered = registry.render(key, params, locale=locale)
            text = "\n".join(filter(None, (rendered.subject, rendered.text, rendered.html)))
            found.append((key, locale, text))
    return found


@pytest.mark.clause("CPE-IV.4.b")
def test_no_message_template_asks_for_identity_documents() -> None:
    renderings = _every_rendering()
    assert {key for key, _, _ in renderings} >= {key for key, *_ in SHIPPED}
    assert "inquiry.received" in {key for key, _, _ in renderings}
    problems = [(key, locale, offending(text)) for key, locale, text in renderings]
    assert [problem for problem in problems if problem[2]] == []

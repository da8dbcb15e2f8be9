"""The catalogues: current with the code, German complete where it must be, and every
string a subscriber reads — also those built outside ``web/`` — marked for translation.

* ``doorstep.pot`` must list every message the code marks (``python -m
  doorstep.locale.extract`` refreshes it), and nothing the code no longer has;
* the German ``.po`` must translate, without fuzzy entries and with the same
  placeholders, every message of the privacy center, the e-mails and the export
  README (the console may stay English);
* refusal texts, extension reasons, complaint routes and the RoPA's wording are
  message ids, and the e-mails and the README built outside ``web/`` come out
  wrapped when rendered in the pseudo-locale.
"""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog

from doorstep.locale import POT, PSEUDO, available, negotiate, po_file, translations
from doorstep.locale.extract import extract, main, msgids, read
from doorstep.notify.catalogue import SHIPPED, WORDED, default_templates, register_all
from doorstep.notify.templates import TemplateRegistry
from doorstep.privacy.datamap import wording as datamap_wording
from doorstep.privacy.datamap.pack import Trigger
from doorstep.privacy.requests.codes import COMPLAINT_ROUTES, EXTENSION_TEXT, REFUSAL_TEXT
from doorstep.privacy.requests.readme import readme
from doorstep.schema import metadata
from tests.packs import reference_pack

#: Where the console's strings live: the only ones German may leave untranslated.
CONSOLE = ("web/console/", "web/templates/console/")
_PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def _ids(message_id: str | tuple[str, ...]) -> tuple[str, ...]:
    return (message_id,) if isinstance(message_id, str) else tuple(message_id)


def _needs_german(locations: list[tuple[str, int | None]]) -> bool:
    return any(not path.startswith(CONSOLE) for path, _line in locations)


def test_the_template_lists_exactly_the_messages_of_the_code() -> None:
    in_code, in_template = msgids(extract()), msgids(read(POT))
    assert sorted(in_code - in_template) == [], "run: python -m doorstep.locale.extract"
    assert sorted(in_template - in_code) == [], "run: python -m doorstep.locale.extract"
    assert main(["--check"]) == 0


def test_the_german_catalogue_holds_the_same_messages_as_the_template() -> None:
    assert "de" in available()
    assert msgids(read(po_file("de"), "de")) == msgids(read(POT))


def _german_problems(german: Catalog) -> list[str]:
    """Untranslated, fuzzy or placeholder-changing entries a subscriber would read."""
    problems = []
    for message in german:
        if not message.id or not _needs_german(message.locations):
            continue
        strings = _ids(message.string)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {_ids(message.id)[0]!r}")
            continue
        for source, text in zip(_ids(message.id), strings, strict=False):
            if sorted(_PLACEHOLDER.findall(source)) != sorted(_PLACEHOLDER.findall(text)):
                problems.append(f"placeholders differ: {source!r}")
    return problems


def test_german_translates_every_center_email_and_readme_message() -> None:
    assert _german_problems(read(po_file("de"), "de")) == []


def test_a_fuzzy_missing_or_broken_german_entry_is_found() -> None:
    german = read(po_file("de"), "de")
    german["Sign in"].flags.add("fuzzy")
    german["Your verification code"].string = ""
    german["Reason: %(reason)s."].string = "Grund."
    assert sorted(_german_problems(german)) == [
        "placeholders differ: 'Reason: %(reason)s.'",
        "untranslated or fuzzy: 'Sign in'",
        "untranslated or fuzzy: 'Your verification code'",
    ]
    console_only = [m for m in german if m.id and not _needs_german(m.locations)]
    assert console_only, "the console's own messages may stay English"


def test_strings_built_outside_web_are_message_ids() -> None:
    catalogue = msgids(read(POT))
    built = [
        *REFUSAL_TEXT.values(),
        *EXTENSION_TEXT.values(),
        *COMPLAINT_ROUTES.values(),
        *datamap_wording.LEGAL_BASIS_ARTICLE.values(),
        *datamap_wording.LEGAL_BASIS_PLAIN.values(),
        *(text for _key, *texts in SHIPPED for text in texts if text is not None),
    ]
    assert [text for text in built if text not in catalogue] == []
    german = translations("de")
    assert german.gettext(REFUSAL_TEXT[next(iter(REFUSAL_TEXT))]) != next(
        iter(REFUSAL_TEXT.values())
    )


def test_the_ropa_wording_is_made_of_message_ids() -> None:
    catalogue = msgids(read(POT))
    phrases = ["not stored", "erased when %(event)s", "erased %(period)s after %(event)s"]
    events = list(datamap_wording._AFTER.values())
    assert [text for text in phrases + events if text not in catalogue] == []
    assert set(datamap_wording._AFTER) == set(Trigger) - {Trigger.NOT_STORED}


def test_emails_in_the_pseudo_locale_mark_every_text_and_worded_value() -> None:
    registry = TemplateRegistry()
    register_all(registry, languages=(PSEUDO,))
    refused = registry.render(
        "request.refused",
        {
            "reference": "R-1",
            "reason": REFUSAL_TEXT[next(iter(REFUSAL_TEXT))],
            "complaint": COMPLAINT_ROUTES["gdpr"],
        },
        locale=PSEUDO,
    )
    assert refused.subject.startswith("⟦") and refused.text.startswith("⟦")
    assert refused.text.count("⟦") == 3, "the text, the reason and the complaint route"
    assert "R-1" in refused.text
    for key, *_texts in SHIPPED:
        assert PSEUDO in registry.locales(key)
    assert {"reason", "complaint", "outcome"} == WORDED  # outcome: a settings removal's


def test_the_export_readme_in_the_pseudo_locale_marks_its_own_words() -> None:
    text = readme(metadata, reference_pack(), ["accounts"], {"x": "left out"}, PSEUDO)
    assert text.startswith("# ⟦Your data⟧")
    labels = [line for line in text.splitlines() if line.startswith("  - ")]
    assert labels and all(line.startswith("  - ⟦") for line in labels)
    assert "## ⟦Not included⟧" in text


def test_the_export_readme_in_german() -> None:
    text = readme(metadata, reference_pack(), ["accounts"], {}, "de")
    assert text.startswith("# Ihre Daten\n")
    assert "  - Rechtsgrundlage: " in text and "legal basis" not in text
    english = readme(metadata, reference_pack(), ["accounts"], {})
    assert english.startswith("# Your data\n") and "  - legal basis: " in english


def test_every_email_has_a_german_text_in_german() -> None:
    registry = default_templates()
    for key, subject, _text, _html in SHIPPED:
        assert "de" in registry.locales(key)
        fields = {name: f"<{name}>" for name in registry.fields(key)}
        assert registry.render(key, fields, locale="de").subject != subject, key
    refused = registry.render(
        "request.refused",
        {
            "reference": "R-7",
            "reason": REFUSAL_TEXT[next(iter(REFUSAL_TEXT))],
            "complaint": COMPLAINT_ROUTES["gdpr"],
        },
        locale="de",
    )
    assert refused.subject == "Wir können Ihre Anfrage nicht ausführen"
    assert "weil sie frühere Anfragen" in refused.text
    assert "bei der Datenschutzaufsichtsbehörde Ihres EU-Mitgliedstaats" in refused.text
    assert registry.render("request.completed", {"reference": "R-7"}).subject == (
        "Your request has been carried out"
    )


@pytest.mark.parametrize(
    ("header", "preferred", "expected"),
    [
        ("de", None, "de"),
        ("de-AT,de;q=0.9,en;q=0.8", None, "de"),
        ("en;q=0.5, DE;q=0.9", None, "de"),
        ("fr-FR,fr;q=0.9", None, "en"),
        ("de;q=0", None, "en"),
        ("de;q=nonsense", None, "en"),
        (None, None, "en"),
        ("de", "en", "en"),
        ("en", "de", "de"),
        ("en", "xx", "en"),
    ],
)
def test_the_language_is_negotiated(
    header: str | None, preferred: str | None, expected: str
) -> None:
    assert negotiate(header, preferred) == expected

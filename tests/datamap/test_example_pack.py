"""The example operator pack (``policy_pack/example-isp``) is complete and consistent.

It passes every check start-up runs on a pack (``doorstep.cli._check_datamap``),
its clauses quote its English and German texts, its consent terms have text in
every language it declares, its settings file keeps the promises the text makes,
and it differs from the reference pack where an operator's pack does.  Also the
two loader features it needs: ``translations`` of consent terms and ``maps_to``
of clauses.
"""

from __future__ import annotations

import importlib.resources
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings, load_settings
from doorstep.privacy.consent.terms import ConsentText, load_terms
from doorstep.privacy.datamap.pack import DEFAULT_PACK, load_pack
from doorstep.privacy.datamap.registry import personal_elements, validate_datamap
from doorstep.privacy.purposes.gate import PurposeGate
from doorstep.privacy.requests.checks import validate_requests
from doorstep.privacy.requests.deadlines import Period, rule_for
from doorstep.privacy.retention.registry import validate_retention
from doorstep.schema import metadata
from doorstep.staff.permissions import validate_matrix

EXAMPLE = DEFAULT_PACK.parent / "example-isp"
FILES = {
    "README.md",
    "clauses.yaml",
    "consent.yaml",
    "datamap.yaml",
    "privacy-policy.de.md",
    "privacy-policy.en.md",
    "settings.env",
}
NEW_PURPOSE = "service.quality_analytics"


def _text(name: str) -> str:
    return (EXAMPLE / name).read_text(encoding="utf-8")


def _clauses(path: Path = EXAMPLE) -> list[dict[str, Any]]:
    data = yaml.safe_load((path / "clauses.yaml").read_text(encoding="utf-8"))
    return list(data["clauses"])


@pytest.fixture
def pack_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings read from the pack's ``settings.env`` (no variable of the process overrides it)."""
    for line in _text("settings.env").splitlines():
        if line and not line.startswith("#"):
            monkeypatch.delenv(line.split("=", 1)[0], raising=False)
    return load_settings(_env_file=EXAMPLE / "settings.env", env="test")


def test_the_example_pack_passes_every_start_up_check(pack_settings: Settings) -> None:
    pack = load_pack(EXAMPLE)
    terms = load_terms(pack)
    # The checks of doorstep.cli._check_datamap, in its order.
    validate_datamap(metadata, pack)
    validate_retention(metadata, pack, pack_settings)
    validate_requests(pack_settings, pack, metadata)
    gate = PurposeGate.from_datamap(metadata, pack, terms)
    validate_matrix(pack)
    assert NEW_PURPOSE in gate.consent_purposes


def test_it_differs_from_the_reference_where_an_operator_would() -> None:
    pack, reference = load_pack(EXAMPLE), load_pack(DEFAULT_PACK)
    terms, reference_terms = load_terms(pack), load_terms(reference)
    assert pack.controller is not None and reference.controller is not None
    assert pack.controller.name == "Beispiel Netz GmbH" != reference.controller.name
    assert pack.retention["device_registration"].period.days == 365
    assert reference.retention["device_registration"].period.days == 730
    assert (
        terms.require_policy().jurisdiction == "DE" != reference_terms.require_policy().jurisdiction
    )
    assert NEW_PURPOSE in pack.purposes and NEW_PURPOSE not in reference.purposes
    assert NEW_PURPOSE in terms.consent_purposes
    assert {item.name for item in pack.products.values()}.isdisjoint(
        item.name for item in reference.products.values()
    )
    # Every contact is invented, on a reserved example domain.
    for text in (_text("datamap.yaml"), _text("consent.yaml"), _text("privacy-policy.en.md")):
        for address in re.findall(r"[\w.-]+@([\w.-]+\w)", text):
            assert address == "example.net"


def test_the_controller_and_products_are_those_both_texts_name() -> None:
    pack = load_pack(EXAMPLE)
    english, german = _text("privacy-policy.en.md"), _text("privacy-policy.de.md")
    controller = pack.controller
    assert controller is not None and controller.dpo is not None
    for value in (controller.name, controller.email, controller.address, controller.dpo.name):
        assert value in english
    for value in (controller.name, controller.email, controller.dpo.email, "10115 Berlin"):
        assert value in german
    for product in pack.products.values():
        assert product.name in english and product.name in german


def test_every_clause_quotes_the_english_and_the_german_text() -> None:
    texts = {name: _text(name) for name in ("privacy-policy.en.md", "privacy-policy.de.md")}
    items = _clauses()
    ids = [str(item["id"]) for item in items]
    assert len(ids) == len(set(ids)) == yaml.safe_load(_text("clauses.yaml"))["meta"]["count"]
    assert all(re.fullmatch(r"EX-\d+(\.\d+)*(\.[a-z])?", clause) for clause in ids)
    for item in items:
        source, german = item["source"], item["translations"]["de"]
        for where, quote in ((source, item["quote"]), (german, german["quote"])):
            text = texts[where["file"]]
            assert quote in text, (item["id"], quote)
            assert f" {where['section']}\n" in text, (item["id"], where["section"])
            assert len(str(quote)) <= 250


def test_every_reference_promise_the_code_cites_is_kept_by_one_of_its_clauses() -> None:
    pack = load_pack(EXAMPLE)
    cited = {clause for _, item in personal_elements(metadata) for clause in item.clauses}
    assert cited <= pack.mapped_clause_ids
    assert pack.mapped_clause_ids <= load_pack(DEFAULT_PACK).clause_ids
    assert not pack.clause_ids & load_pack(DEFAULT_PACK).clause_ids


def test_every_consent_term_has_its_text_in_english_and_german() -> None:
    terms = load_terms(load_pack(EXAMPLE))
    assert terms.languages == ("en", "de")
    assert terms.require_policy().language == "de"
    for term in terms.purposes.values():
        english, german = term.text("en"), term.text("de")
        assert english == ConsentText(term.function, term.manual_path)
        assert german.function and german.function != english.function
        assert bool(german.manual_path) == bool(english.manual_path) == term.optional


def test_the_settings_file_keeps_the_promises_of_the_text(pack_settings: Settings) -> None:
    english, german = _text("privacy-policy.en.md"), _text("privacy-policy.de.md")
    rule = rule_for(pack_settings, None)
    assert (rule.period, rule.max_extension_months) == (Period(months=1), 2)
    assert "within one month" in english and "two further months" in english
    assert "innerhalb eines Monats" in german and "zwei weitere Monate" in german
    assert pack_settings.child_age_default == 16
    assert "under 16" in english and "unter 16" in german
    assert pack_settings.guardian_consent_days == 7 and "within seven days" in english
    assert pack_settings.manual_deregistration_working_days == 2
    assert "within two working days" in english
    assert "one year after the device was last online" in english


def test_the_package_installs_every_file_of_the_pack() -> None:
    folder = importlib.resources.files("doorstep") / "policy_pack" / "example-isp"
    assert {item.name for item in folder.iterdir()} >= FILES


def _copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(EXAMPLE, tmp_path / "pack"))


def test_a_clause_mapping_to_an_unknown_reference_id_stops_loading(tmp_path: Path) -> None:
    pack = _copy(tmp_path)
    source = pack / "clauses.yaml"
    source.write_text(
        source.read_text(encoding="utf-8").replace("- CPE-0.3\n", "- CPE-99\n", 1),
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"clause 'EX-1.1' maps to 'CPE-99'"):
        load_pack(pack)


def test_a_cited_promise_no_clause_keeps_is_named_by_the_data_map_check(tmp_path: Path) -> None:
    pack = _copy(tmp_path)
    source = pack / "clauses.yaml"
    text = source.read_text(encoding="utf-8")
    mapping = "  maps_to:\n  - CPE-I.ii.1.c\n"
    assert text.count(mapping) == 1
    source.write_text(text.replace(mapping, "  maps_to: []\n"), encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        validate_datamap(metadata, load_pack(pack))
    problem = "device_registrations.last_seen: unknown clause 'CPE-I.ii.1.c'"
    assert problem in caught.value.fields["problems"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "      de:\n        function: Den QR-Code",
            "      fr:\n        function: Den QR-Code",
            r"'device.qr_camera' has text in 'fr', which is not a further language",
        ),
        (
            "        manual_path: Geben Sie den Zuordnungscode vom Geräteetikett ein.\n",
            "",
            r"translations.de.manual_path is required",
        ),
        ("  languages: [en, de]\n", "  languages: [de]\n", r"must include 'en'"),
        ("  languages: [en, de]\n", "  languages: [en, de, German]\n", r"not a language code"),
        ("  languages: [en, de]\n", "  languages: [en, de, fr]\n", r"has no text in 'fr'"),
    ],
)
def test_consent_terms_without_text_in_a_declared_language_stop_start_up(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    pack = _copy(tmp_path)
    source = pack / "consent.yaml"
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1
    source.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        load_terms(load_pack(pack))


def test_a_pack_without_languages_keeps_english_for_every_language() -> None:
    terms = load_terms(load_pack(DEFAULT_PACK))
    assert terms.languages == ("en",)
    term = terms.purposes["device.qr_camera"]
    assert term.translations == ()
    assert term.text("de") == ConsentText(term.function, term.manual_path)

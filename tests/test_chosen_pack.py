"""One policy pack, chosen once by the ``policy_pack`` setting, used everywhere.

The app (pages), a worker (an export job and the e-mails it sends) and the
commands run under a second pack; nothing they produce (a page, an e-mail, a
consent receipt, the export ZIP, a command's output, a log record) carries the
identity of the reference pack: its controller's name, e-mail and address, its
DPO, its product names.  The second pack is the shipped example
(``policy_pack/example-isp``) with the settings its ``settings.env`` names, or,
without it, a copy of the reference pack with the identity replaced.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from markupsafe import escape

from doorstep.core.runtime import Runtime
from doorstep.core.settings import load_settings
from doorstep.privacy.datamap.pack import DEFAULT_PACK, default_pack, load_pack
from doorstep.privacy.requests import services as requests
from doorstep.privacy.requests.context import RequestContext
from doorstep.privacy.requests.downloads import fetch
from doorstep.privacy.requests.intake import submit_signed_in
from doorstep.services import services_for
from tests.cli_run import doorstep
from tests.conftest import database_url_of
from tests.notify.conftest import (  # noqa: F401  (raw_logs and smtp are fixtures)
    RawLogs,
    SmtpServer,
    raw_logs,
    smtp,
    smtp_settings,
)
from tests.notify.conftest import drain as run_worker_until_idle
from tests.web.clients import page_client, sign_in_as, token_in
from tests.web.people import make_subscriber

EXAMPLE = DEFAULT_PACK.parent / "example-isp"
ACTOR = "system:tests"

#: What the copy of the reference pack says instead of the reference identity.
RENAMED = (
    ("ZTE Data Protection Compliance Department", "Nordlicht Datenschutzteam"),
    (
        "Floor 26, ZTE R & D Building, No. 55 Hi-Tech South Road, Shenzhen, the PRC, 518057",
        "Postfach 4711, 24103 Kiel, Germany",
    ),
    (
        "No. 55 Hi-Tech South Road, Nanshan District, Shenzhen, the PRC",
        "Hafenstrasse 9, 24103 Kiel, Germany",
    ),
    ("zte.com.cn", "nordlicht.example"),
    ("ZTE Corporation", "Nordlicht Netz AG"),
    ("ZTE", "Nordlicht"),
    ("Hi-Tech South Road", "Hafenstrasse"),
    ("Nanshan District", "Kiel-Mitte"),
    ("Shenzhen", "Kiel"),
    ("Floor 26", "Etage 3"),
    ("name: Router", "name: Nordlicht Box"),
    ("Home gateway", "Nordlicht Fibre"),
)


def reference_identity() -> tuple[str, ...]:
    """The reference pack's identity: controller, addresses, DPO, product names (its datamap).

    A product name of one word ("Router") is a plain noun every pack and page may
    use, not an identity: the notice test checks instead that its title names the
    chosen pack's product.
    """
    raw = yaml.safe_load((DEFAULT_PACK / "datamap.yaml").read_text(encoding="utf-8"))
    controller, dpo = raw["controller"], raw["controller"]["dpo"]
    found = {controller["name"], controller["email"], dpo["name"], dpo["email"]}
    found.add(controller["email"].partition("@")[2])
    for address in (controller["address"], dpo["address"]):
        found.add(address)
        found.update(part.strip() for part in address.split(",") if len(part.strip()) > 7)
    found.update(product["name"] for product in raw["products"].values() if " " in product["name"])
    return tuple(sorted(found))


IDENTITY = reference_identity()
#: The controller's short name as a word, in any case (never inside a longer word or token).
SHORT_NAME = re.compile(r"(?<![A-Za-z0-9_-])zte(?![A-Za-z0-9_-])", re.IGNORECASE)


def traces(text: str) -> list[str]:
    """The reference identity found in ``text`` (names exactly, addresses in any case)."""
    lowered = text.lower()
    found = [item for item in IDENTITY if item in text or ("@" in item and item.lower() in lowered)]
    return found + [match.group(0) for match in SHORT_NAME.finditer(text)]


@dataclass(frozen=True)
class SecondPack:
    """A pack other than the reference one, and the settings it needs (``settings.env``)."""

    path: Path
    env: dict[str, str]


def _settings_env(path: Path) -> dict[str, str]:
    source = path / "settings.env"
    if not source.is_file():
        return {}
    lines = source.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _renamed_copy(target: Path) -> Path:
    """The reference pack copied to ``target`` with every identity string replaced."""
    shutil.copytree(DEFAULT_PACK, target)
    (target / "ORIGINALS.sha256").unlink()  # the hashes of the untouched texts
    for path in target.iterdir():
        text = path.read_text(encoding="utf-8")
        for old, new in RENAMED:
            text = re.sub(re.escape(old), new, text, flags=re.IGNORECASE)
        path.write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def second_pack(tmp_path_factory: pytest.TempPathFactory) -> SecondPack:
    """The example pack when it is shipped, else a renamed copy of the reference pack."""
    path = EXAMPLE if (EXAMPLE / "datamap.yaml").is_file() else None
    if path is None:
        path = _renamed_copy(tmp_path_factory.mktemp("packs") / "second")
    for name in ("datamap.yaml", "consent.yaml"):  # its own identity (its README may compare)
        assert traces((path / name).read_text(encoding="utf-8")) == [], name
    return SecondPack(path, _settings_env(path))


@pytest.fixture
def chosen(
    second_pack: SecondPack,
    committed: Runtime,
    smtp: SmtpServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    """A committing runtime whose settings (and the commands' environment) choose the pack."""
    env = {
        **second_pack.env,
        "DOORSTEP_POLICY_PACK": str(second_pack.path),
        "DOORSTEP_ENV": "test",
        "DOORSTEP_DATABASE_URL": database_url_of(committed.settings),
        "DOORSTEP_DATA_DIR": str(committed.settings.data_dir),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield replace(committed, settings=load_settings(**smtp_settings(smtp)))


def _jws_claims(token: str) -> str:
    payload = token.strip().split(".")[1]
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8")


def _latest_consent_event(runtime: Runtime, subject_id: uuid.UUID) -> uuid.UUID:
    with runtime.sessions() as session:
        found = session.execute(
            sa.text(
                "SELECT id FROM consent_events WHERE subject_id = :s ORDER BY seq DESC LIMIT 1"
            ),
            {"s": subject_id},
        ).scalar_one()
    assert isinstance(found, uuid.UUID)
    return found


def test_the_setting_chooses_the_pack_of_every_service(chosen: Runtime) -> None:
    services = services_for(chosen)
    assert services.pack.path == chosen.settings.policy_pack.resolve()
    assert services.pack.path != DEFAULT_PACK.resolve()
    assert services.terms.policy is not None
    assert services.gate.terms is services.terms
    assert services.pack.controller is not None
    assert services.pack.controller.name != default_pack().controller.name  # type: ignore[union-attr]
    assert load_pack(chosen.settings.policy_pack).controller == services.pack.controller


def test_pages_worker_mail_receipts_export_commands_and_logs_carry_only_the_chosen_pack(
    chosen: Runtime,
    smtp: SmtpServer,  # noqa: F811
    raw_logs: RawLogs,  # noqa: F811
    tmp_path: Path,
) -> None:
    services = services_for(chosen)
    controller = services.pack.controller
    assert controller is not None
    product = next(iter(services.pack.products.values()))
    optional = services.terms.optional_functions[0].key
    seen: dict[str, str] = {}

    person = make_subscriber(chosen)
    with page_client(chosen) as client:
        seen["page /policy"] = client.get("/policy").text
        assert controller.email in seen["page /policy"]
        sign_in_as(client, person, then="/privacy/consents")
        consents = client.get("/privacy/consents")
        seen["page /privacy/consents"] = consents.text
        given = client.post(
            f"/privacy/consents/{optional}",
            data={"action": "grant", "csrf_token": token_in(consents.text)},
            follow_redirects=False,
        )
        assert given.status_code == 303, given.text
        event = _latest_consent_event(chosen, person.subject_id)
        seen["page receipt"] = client.get(f"/privacy/consents/receipts/{event}").text
        assert controller.name in seen["page receipt"]
        token = client.get(f"/privacy/consents/receipts/{event}/receipt.jws").text
        seen["receipt (page)"] = _jws_claims(token)
        for path in ("/privacy", "/privacy/requests", "/privacy/data"):
            seen[f"page {path}"] = client.get(path).text

    # A worker: the access request's export job, and the e-mails it and the request send.
    ctx = RequestContext.of(services)
    with chosen.sessions.begin() as session:
        row = submit_signed_in(session, ctx, subject_id=person.subject_id, kind="access")
    run_worker_until_idle(chosen)
    with chosen.sessions.begin() as session:
        archive = zipfile.ZipFile(
            io.BytesIO(fetch(session, ctx, requests.get(session, row.id), actor=ACTOR))
        )
    for name in archive.namelist():
        seen[f"export {name}"] = archive.read(name).decode("utf-8")
    assert smtp.received, "the worker sent the request's e-mails"
    for mail in smtp.received:
        assert controller.email in mail.message["From"]
        seen[f"e-mail {mail.message['Subject']}"] = mail.message.as_string()

    # The commands, with the pack chosen by DOORSTEP_POLICY_PACK only.
    receipt = tmp_path / "receipt.jws"
    for args in (
        ("datamap", "ropa"),
        ("datamap", "notice", "--product", product.key),
        ("retention", "report"),
        ("consent", "receipt", str(event), "--out", str(receipt)),
    ):
        result = doorstep(*args)
        assert result.returncode == 0, result.stderr
        seen[f"doorstep {' '.join(args[:2])}"] = result.stdout + result.stderr
    assert controller.name in seen["doorstep datamap ropa"]
    assert f"— {product.name}\n" in seen["doorstep datamap notice"]
    seen["receipt (command)"] = _jws_claims(receipt.read_text(encoding="ascii"))
    assert controller.name in seen["receipt (command)"]
    seen["logs"] = raw_logs.text

    assert {where: traces(text) for where, text in seen.items() if traces(text)} == {}


def test_a_bad_pack_setting_stops_every_command_naming_the_setting(tmp_path: Path) -> None:
    env = {"DOORSTEP_POLICY_PACK": str(tmp_path / "nowhere"), "DOORSTEP_ENV": "test"}
    for args in (("migrate", "--check"), ("retention", "plan"), ("datamap", "check")):
        result = doorstep(*args, env=env)
        assert result.returncode == 2, (args, result.stdout)
        assert "DOORSTEP_POLICY_PACK" in result.stderr, args


def test_a_broken_pack_stops_start_up_with_the_file_and_key(tmp_path: Path) -> None:
    broken = _renamed_copy(tmp_path / "broken")
    source = broken / "datamap.yaml"
    source.write_text(
        source.read_text(encoding="utf-8").replace("data_use: ", "data_use: no.such.", 1),
        encoding="utf-8",
    )
    result = doorstep("migrate", "--check", env={"DOORSTEP_POLICY_PACK": str(broken)})
    assert result.returncode == 2
    assert "policy pack" in result.stderr and "unknown data_use" in result.stderr


def test_no_production_code_loads_the_reference_pack_by_itself() -> None:
    source = DEFAULT_PACK.parents[1]
    calls = re.compile(r"\b(default_pack|default_terms|default_gate)\(\)")
    found = [
        f"{path.relative_to(source)}:{number}"
        for path in sorted(source.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if calls.search(line) and not line.lstrip().startswith("def ")
    ]
    assert found == []


def test_the_consent_page_speaks_the_packs_own_words_in_the_readers_language(
    chosen: Runtime,
) -> None:
    """A term the pack translates is shown in its words, not the catalogue's English."""
    terms = services_for(chosen).terms
    translated = [
        (item, dict(item.translations)["de"])
        for item in terms.optional_functions
        if "de" in dict(item.translations)
    ]
    if not translated:
        pytest.fail("the second pack translates no optional function into German")
    person = make_subscriber(chosen)
    with page_client(chosen) as client:
        sign_in_as(client, person, then="/privacy/consents")
        german = client.get("/privacy/consents", headers={"Accept-Language": "de"}).text
        english = client.get("/privacy/consents", headers={"Accept-Language": "en"}).text
    for item, words in translated:
        assert str(escape(words.function)) in german
        assert str(escape(words.manual_path)) in german
        assert str(escape(item.function)) in english
        assert str(escape(words.function)) not in english

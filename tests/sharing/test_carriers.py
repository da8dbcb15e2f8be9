"""Carriers per country (decision 0035): several processors carry one channel, one per country.

Each test copies the reference pack (home CN, relays in CN) and adds a relay.
The pack reader refuses a second carrier of a channel in the same country with
file and line; the sharing gate hands a subject's message to the carrier in its
home country, else the pack's home, else the first declared; ``doorstep pack
check`` warns about a carrier abroad under ``deidentify: always``.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.errors import ConfigurationError
from doorstep.core.runtime import Runtime
from doorstep.notify.adapters import Adapters, RecordingMailer, RecordingPush, RecordingSms
from doorstep.notify.delivery import Outcome, deliver
from doorstep.notify.services import queue_email
from doorstep.privacy.datamap.pack import load_pack
from doorstep.privacy.sharing.gate import SharingGate
from doorstep.privacy.sharing.outbox import outbox_release
from doorstep.privacy.transfers.gate import TransferGate
from doorstep.privacy.transfers.mechanisms import set_home
from doorstep.schema import metadata
from tests.datamap.test_pack_check import check, copy_pack, edit, line
from tests.policies.conftest import new_account

RELAY = "  sms_provider:\n"


def _relay(key: str, country: str, channel: str = "email") -> str:
    return (
        f"  {key}:\n"
        f"    description: The relay that carries our e-mail in {country}.\n"
        f"    country: {country}\n"
        "    role: processor\n"
        f"    channel: {channel}\n"
        "    agreement:\n"
        "      type: data_processing\n"
        f"      reference: DPA-{key.upper()}\n"
        "      signed: 2026-01-01\n"
        "    shares:\n"
        "      notification.delivery:\n"
        "        elements: [outbox.email, outbox.params]\n"
    )


def _pack_with(tmp_path: Path, *relays: str, deidentify: str = "without_consent") -> Path:
    pack = copy_pack(tmp_path)
    edit(pack, "datamap.yaml", RELAY, "".join(relays) + RELAY)
    if deidentify != "without_consent":
        edit(pack, "datamap.yaml", "deidentify: without_consent", f"deidentify: {deidentify}")
    return pack


def test_the_carrier_is_the_one_in_the_home_country_else_the_packs_else_the_first(
    tmp_path: Path,
) -> None:
    gate = SharingGate.from_pack(
        load_pack(_pack_with(tmp_path, _relay("relay_de", "DE"), _relay("relay_us", "US"))),
        metadata,
    )
    assert gate.channels["email"] == ("smtp_relay", "relay_de", "relay_us")
    assert [gate.carrier("email", home) for home in ("DE", "US", "CN", "FR", None)] == [
        "relay_de",
        "relay_us",
        "smtp_relay",
        "smtp_relay",  # the pack's home country
        "smtp_relay",
    ]
    assert gate.carrier("sms", "DE") == "sms_provider"
    assert gate.carrier("fax", "DE") is None


def test_without_a_carrier_at_home_the_first_declared_carries(tmp_path: Path) -> None:
    pack = copy_pack(tmp_path)
    edit(
        pack,
        "datamap.yaml",
        "    country: CN\n    role: processor\n    channel: email\n",
        "    country: SG\n    role: processor\n    channel: email\n",
    )
    edit(pack, "datamap.yaml", RELAY, _relay("relay_us", "US") + RELAY)
    gate = SharingGate.from_pack(load_pack(pack), metadata)
    assert [gate.carrier("email", home) for home in ("FR", "US")] == ["smtp_relay", "relay_us"]


def test_a_second_carrier_of_a_channel_in_the_same_country_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    pack = _pack_with(tmp_path, _relay("relay_cn_2", "CN"))
    with pytest.raises(ConfigurationError) as refused:
        load_pack(pack)
    n = line(pack, "datamap.yaml", "  relay_cn_2:")
    assert refused.value.detail == (
        f"policy pack: datamap.yaml:{n}: recipients 'smtp_relay' and 'relay_cn_2' both carry "
        "channel 'email' in CN"
    )
    result = check(pack)
    assert result.returncode == 1
    assert f"datamap.yaml:{n}: recipients 'smtp_relay' and 'relay_cn_2'" in result.stdout


def test_pack_check_warns_about_a_carrier_abroad_under_deidentify_always(tmp_path: Path) -> None:
    pack = _pack_with(tmp_path, _relay("relay_de", "DE"), deidentify="always")
    result = check(pack)
    n = line(pack, "datamap.yaml", "  relay_de:")
    assert result.returncode == 0, result.stdout
    assert result.stdout == f"policy pack valid: {pack}\n"
    assert (
        f"datamap.yaml:{n}: warning: recipients.relay_de carries channel 'email' from DE, "
        "outside the home country CN, and transfers.deidentify is always"
    ) in result.stderr
    assert "relay_de" not in check(_pack_with(tmp_path / "b", _relay("relay_de", "DE"))).stderr


def _queue(runtime: Runtime, subject: uuid.UUID) -> uuid.UUID:
    with runtime.sessions.begin() as session:
        return queue_email(
            session,
            subject_id=subject,
            to=f"{subject.hex[:12]}@example.org",
            template="request.received",
            params={"reference": "REF-CARRIER", "due": "2026-02-01"},
            clock=runtime.clock,
        )


def test_a_subscribers_message_goes_through_the_relay_in_its_home_country_with_no_transfer(
    runtime: Runtime, db: Session, tmp_path: Path
) -> None:
    pack = load_pack(_pack_with(tmp_path, _relay("relay_de", "DE")))
    gate = SharingGate.from_pack(pack, metadata, transfers=TransferGate.from_pack(pack))
    adapters = Adapters(
        mailer=RecordingMailer(),
        sms=RecordingSms(),
        push=RecordingPush(),
        release=outbox_release(gate),
    )
    with runtime.sessions.begin() as session:
        german = new_account(session, runtime)
        set_home(session, german, "DE", clock=runtime.clock, actor="system:tests")
        chinese = new_account(session, runtime)
    for subject in (german, chinese):
        assert deliver(runtime, _queue(runtime, subject), adapters) is Outcome.SENT
    rows = db.execute(
        sa.text("SELECT subject_id, recipient FROM disclosures WHERE subject_id IN (:a, :b)"),
        {"a": german, "b": chinese},
    ).all()
    assert {row.subject_id: row.recipient for row in rows} == {
        german: "relay_de",
        chinese: "smtp_relay",
    }
    # Both relays are in their subscriber's home country: nothing crossed a border.
    assert db.scalar(sa.text("SELECT count(*) FROM transfers")) == 0

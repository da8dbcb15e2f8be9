"""Consents in the browser: give one, read its signed receipt, withdraw it.

The ledger must hold both decisions (channel web, the hash of the notice the
page showed), the receipt must verify with the install's key, and from the
withdrawal on the purpose gate refuses the purpose while the page says the
function is off and how to do without it.
"""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from doorstep.audit.entries import system_actor
from doorstep.privacy.consent.models import ConsentAction
from doorstep.privacy.consent.receipts import verify_receipt
from doorstep.privacy.consent.signing import ReceiptSigner, receipt_key_path
from doorstep.privacy.purposes import RefusalReason
from tests.packs import reference_gate
from tests.web.conftest import LiveServer
from tests.web.people import make_subscriber, sign_in
from tests.web.test_center_privacy_pages import checked_screenshot, ledger

QR = "Scan the device QR code with the phone camera"
QR_PURPOSE = "device.qr_camera"
QR_ELEMENT = "device_registrations.endpoint_id"


def gate_reason(live_server: LiveServer, subject_id: uuid.UUID) -> RefusalReason | None:
    """Why the purpose gate would refuse the QR camera purpose for the subject (None: allowed)."""
    with live_server.runtime.sessions() as session:
        access = reference_gate().for_subject(session, subject_id, actor=system_actor("test"))
        return access.reason(QR_ELEMENT, QR_PURPOSE)


@pytest.mark.clause("CPE-V.4.a")
@pytest.mark.clause("CPE-V.4.e")
def test_a_consent_is_given_proven_by_its_receipt_and_withdrawn(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    person = make_subscriber(live_server.runtime)
    sign_in(page, person, then="/privacy")
    checked_screenshot(page, "privacy-overview")
    page.get_by_role("link", name="Consents and optional functions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consents and optional functions")
    card = page.get_by_role("region", name=QR)
    expect(card).to_contain_text("Off")
    expect(card).to_contain_text("Type the claim code printed on the device label.")
    shown = card.locator("dl").inner_text()
    assert gate_reason(live_server, person.subject_id) is RefusalReason.NO_CONSENT

    card.get_by_role("button", name="Give my consent").click()
    expect(page.get_by_role("status")).to_contain_text("Your consent is recorded")
    expect(card).to_contain_text("On")
    checked_screenshot(page, "privacy-consents")
    (granted,) = ledger(live_server.runtime, person.subject_id)
    assert granted.action == ConsentAction.GRANT and granted.channel == "web"
    notice = "\n".join([QR, *(f"{label}: {value}" for label, value in _pairs(shown))])
    assert granted.notice_hash == hashlib.sha256(notice.encode()).hexdigest()
    assert gate_reason(live_server, person.subject_id) is None

    history = page.get_by_role("table")
    expect(history.get_by_role("row")).to_have_count(2)
    history.get_by_role("link", name="Receipt").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent receipt")
    expect(page.get_by_role("row", name="Decision")).to_contain_text("Given")
    expect(page.get_by_role("row", name="Function")).to_contain_text(QR)
    expect(page.get_by_role("row", name="Receipt number")).to_contain_text(str(granted.id))
    checked_screenshot(page, "privacy-receipt")
    token = page.get_by_label("Signed receipt (JWS)").input_value()
    signer = ReceiptSigner.load(receipt_key_path(live_server.runtime.settings))
    claims = verify_receipt(token, signer)
    assert claims["consentReceiptID"] == str(granted.id)
    assert claims["consentEvent"]["type"] == "given"
    assert claims["notice"]["hash"] == granted.notice_hash
    with page.expect_download() as info:
        page.get_by_role("link", name="Download the signed receipt").click()
    saved = tmp_path / "receipt.jws"
    info.value.save_as(saved)
    assert saved.read_text().strip() == token

    page.get_by_role("link", name="Back to consents").click()
    card.get_by_role("button", name="Withdraw my consent").click()
    expect(page.get_by_role("status")).to_contain_text("Your consent is withdrawn")
    expect(card).to_contain_text("Off")
    expect(card).to_contain_text("Without it")
    expect(card.get_by_role("button", name="Give my consent")).to_be_visible()
    events = ledger(live_server.runtime, person.subject_id)
    assert [(event.action, event.channel) for event in events] == [
        (ConsentAction.GRANT, "web"),
        (ConsentAction.WITHDRAW, "web"),
    ]
    assert events[0].id == granted.id  # the grant stays as it was
    assert gate_reason(live_server, person.subject_id) is RefusalReason.CONSENT_WITHDRAWN
    expect(history.get_by_role("row")).to_have_count(3)
    expect(history.get_by_role("row").nth(1)).to_contain_text("Withdrawn")


def _pairs(text: str) -> list[tuple[str, str]]:
    """The label/value pairs of a definition list's inner text (alternating lines)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return list(zip(lines[::2], lines[1::2], strict=True))

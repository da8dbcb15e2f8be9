"""The address is asked only when the customer chooses the mailing service (CORP-1.15).

Doorstep does not take after-sales tickets: the ticketing tool is a connected
system of the reference pack (``tickets``, manual).  What Doorstep holds is its
declaration, which the record of processing, the evidence and every request
read: the ticket's address is declared under the purpose ``after_sales.mailing``
only, an activity asked on the customer's ``mailing`` choice alone, and a pack
declaring an address for the plain after-sales service is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import doorstep
from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import load_pack
from doorstep.privacy.datamap.ropa import build_ropa
from doorstep.schema import metadata
from tests.connectors.conftest import write_pack

MAILING = "after_sales.mailing"
REFERENCE = Path(doorstep.__file__).parent / "policy_pack" / "default"


@pytest.mark.clause("CORP-1.15")
def test_the_ticket_address_is_declared_only_for_the_chosen_mailing_service(
    tmp_path: Path,
) -> None:
    pack = load_pack(REFERENCE)
    tickets = pack.systems.systems["tickets"]
    mailing = pack.systems.activities[MAILING]
    assert mailing.choice == "mailing" and "address" in mailing.fields
    assert "address" not in pack.systems.activities["after_sales.service"].fields
    addresses = [item for item in tickets.elements.values() if item.field == "address"]
    assert addresses, "the ticketing tool declares no address"
    assert all(item.purposes == (MAILING,) for item in addresses)
    # the record of processing lists the address under the mailing activity, not the service
    ropa = build_ropa(metadata, pack)
    by_purpose = {activity.purpose: set(activity.elements) for activity in ropa.activities}
    keys = {f"tickets:{item.key}" for item in addresses}
    assert keys <= by_purpose[MAILING]
    assert not keys & by_purpose["after_sales.service"]
    # a pack asking the address for every ticket is refused
    text = (REFERENCE / "systems.yaml").read_text(encoding="utf-8")
    old = "        purposes: [after_sales.mailing]\n"
    assert text.count(old) == 2
    bad = write_pack(
        tmp_path / "bad", text.replace(old, "        purposes: [after_sales.service]\n")
    )
    with pytest.raises(ConfigurationError, match="address"):
        load_pack(bad)

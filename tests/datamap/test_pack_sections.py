"""The pack sections the generated documents need: controller, products, transfers."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import DEFAULT_PACK, PolicyPack, default_pack, load_pack
from tests.datamap.scratch import SCRATCH_PACK, write_pack


def test_the_scratch_pack_reads_every_new_section(scratch_pack: PolicyPack) -> None:
    controller = scratch_pack.controller
    assert controller is not None
    assert (controller.name, controller.email) == ("Example Networks Ltd", "privacy@example.net")
    assert controller.dpo is not None
    assert (controller.dpo.name, controller.dpo.email, controller.dpo.address) == (
        "Dana Protector",
        "dpo@example.net",
        "",
    )
    assert scratch_pack.security_measures == ("Role-based access control", "Encryption in transit")
    assert sorted(scratch_pack.products) == ["gateway", "router"]
    assert scratch_pack.products["gateway"].name == "Home gateway"
    assert scratch_pack.products["router"].subjects == ("customer",)
    assert scratch_pack.purposes["voice.calls"].products == ("gateway",)
    assert scratch_pack.purposes["voice.calls"].applies_to("gateway")
    assert not scratch_pack.purposes["voice.calls"].applies_to("router")
    assert scratch_pack.purposes["service.core"].applies_to("router")
    abroad = scratch_pack.region_details["abroad"]
    assert (abroad.country, abroad.is_transfer) == ("EL", True)
    assert not scratch_pack.region_details["primary"].is_transfer
    assert scratch_pack.recipient_details["lab"].transfer.startswith("Explicit consent")
    # The plain key -> description maps that declarations are checked against stay.
    assert scratch_pack.regions == {
        "primary": "Our data centre in your country.",
        "abroad": "A data centre in Elbonia.",
    }
    assert scratch_pack.recipients["mailer"] == "The mail delivery provider"


def test_a_pack_without_the_new_sections_still_loads(tmp_path: Path) -> None:
    pack = load_pack(write_pack(tmp_path, "regions:\n  primary:\n    description: here\n"))
    assert pack.controller is None
    assert pack.products == {}
    assert pack.security_measures == ()
    assert pack.regions == {"primary": "here"}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    products: [gateway]\n", "    products: [toaster]\n", "unknown product 'toaster'"),
        ("    products: [router]\n", "    products: router\n", "must be a list of strings"),
        ("  name: Example Networks Ltd\n", "", "'controller' has no name"),
        ("    email: dpo@example.net\n", "", "'controller.dpo' has no email"),
        ("  router:\n    name: Router\n", "  router: [1]\n", "product 'router' must be a mapping"),
        (
            "  router:\n    name: Router\n",
            "  router:\n    subjects: [martian]\n",
            "unknown data subject 'martian'",
        ),
        (
            "security_measures: [Role-based access control, Encryption in transit]",
            "security_measures: Encryption",
            "security_measures must be a list of strings",
        ),
    ],
)
def test_a_bad_new_section_is_named(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SCRATCH_PACK
    with pytest.raises(ConfigurationError, match=message.replace(".", r"\.")):
        load_pack(write_pack(tmp_path, SCRATCH_PACK.replace(old, new, 1)))


def test_the_default_controller_is_the_reference_policy_contact() -> None:
    """Every value of the default ``controller:`` is quoted from the CPE policy's contact text."""
    policy = (DEFAULT_PACK / "cpe-privacy-policy.txt").read_text(encoding="utf-8")
    controller = default_pack().controller
    assert controller is not None
    assert f"Company name: {controller.name}\n" in policy
    assert f"E-mail: {controller.email}\n" in policy
    assert f"Registered address: {controller.address}\n" in policy
    assert controller.dpo is not None
    assert f"To: {controller.dpo.name}\n" in policy
    assert controller.dpo.email.lower() == controller.email.lower()
    street, _, postcode = controller.dpo.address.rpartition(", ")
    assert f"Address: {street}\n" in policy
    assert f"Zip code: {postcode}\n" in policy


def test_the_default_products_are_router_and_gateway_with_the_same_purposes() -> None:
    """CPE I.iii lists the same functions for both, so no shipped purpose is product-bound."""
    pack = default_pack()
    assert sorted(pack.products) == ["gateway", "router"]
    assert all(purpose.products == () for purpose in pack.purposes.values())

"""The "what we collect and why" section, per product, from the data map."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.notice import notice_markdown
from doorstep.privacy.datamap.pack import DEFAULT_PACK, PolicyPack, default_pack, load_pack
from doorstep.privacy.datamap.registry import collect, personal_elements
from doorstep.privacy.datamap.taxonomy import category_name
from doorstep.privacy.datamap.wording import md_cell
from doorstep.schema import metadata


def test_each_product_gets_the_purposes_that_apply_to_it(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    router = notice_markdown(scratch_metadata, scratch_pack, "router")
    gateway = notice_markdown(scratch_metadata, scratch_pack, "gateway")
    assert router.startswith("# What we collect and why — Router\n")
    assert gateway.startswith("# What we collect and why — Home gateway\n")
    assert "## Newsletter\n" in router
    assert "## Newsletter\n" not in gateway
    assert "## Voice calls\n" in gateway
    assert "## Voice calls\n" not in router
    for text in (router, gateway):
        assert "## Service core\n" in text
        assert "**Why:** Run the service you signed up for." in text


def test_a_section_says_what_why_on_which_basis_how_long_and_with_whom(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    gateway = notice_markdown(scratch_metadata, scratch_pack, "gateway")
    voice = gateway[gateway.index("## Voice calls") :]
    assert "**Legal basis:** We need it to provide the service you signed up for." in voice
    assert (
        "| User Contact Phone Number | The number your calls come from. | Kept for 30 days. |"
        in voice
    )
    assert "**Where it is stored:** A data centre in Elbonia." in voice
    assert "We do not share it with anyone outside Example Networks Ltd." in voice
    assert "It may leave your country (EL); the transfer is protected by: Standard" in voice
    core = gateway[gateway.index("## Service core") : gateway.index("## Voice calls")]
    assert "We share it with: A research lab; The mail delivery provider." in core
    assert "you can object to it" in core  # legitimate interests, in plain words
    assert r"Where we send receipts \| newsletters." in core
    assert "Kept until two years after the device was last online." in core


def test_only_the_products_data_subjects_are_in_its_notice(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    """Staff data belongs in the record of processing, not in a subscriber's notice."""
    router = notice_markdown(scratch_metadata, scratch_pack, "router")
    assert "Which employee set the account up." not in router
    assert "Account Information" not in router


def test_the_notice_names_kinds_of_data_not_columns(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    text = notice_markdown(scratch_metadata, scratch_pack, "gateway")
    for item in collect(scratch_metadata):
        assert item.element not in text
    assert "user.contact" not in text


def test_an_unknown_product_is_refused(
    scratch_metadata: sa.MetaData, scratch_pack: PolicyPack
) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown product 'toaster'.*gateway, router"):
        notice_markdown(scratch_metadata, scratch_pack, "toaster")


@pytest.mark.parametrize("product", ["router", "gateway"])
def test_the_real_notice_lists_every_subscriber_element(product: str) -> None:
    pack = default_pack()
    text = notice_markdown(metadata, pack, product)
    audience = pack.products[product].subjects
    listed = 0
    for name, declaration in personal_elements(metadata):
        if declaration.subject not in audience:
            continue
        listed += 1
        if not any(pack.purposes[p].applies_to(product) for p in declaration.purposes):
            continue
        what = md_cell(category_name(declaration.category))
        assert f"| {what} | {md_cell(declaration.description)} |" in text, name
        assert md_cell(pack.retention[declaration.retention].description) in text, name
    assert listed, "the schema has no subscriber data at all"


def test_the_shipped_pack_gives_both_products_the_same_section() -> None:
    """CPE I.iii lists the same functions for routers and gateways; so do the notices."""
    router = notice_markdown(metadata, default_pack(), "router")
    gateway = notice_markdown(metadata, default_pack(), "gateway")
    body = router.split("\n", 1)[1].replace("your Router", "your PRODUCT")
    assert body == gateway.split("\n", 1)[1].replace("your Home gateway", "your PRODUCT")


def test_the_notice_keeps_the_product_name_as_the_pack_writes_it() -> None:
    """A product name is a name: "Beispiel Box 7" is not lowered to "beispiel box 7"."""
    pack = load_pack(DEFAULT_PACK.parent / "example-isp")
    for key, product in pack.products.items():
        text = notice_markdown(metadata, pack, key)
        assert f"for your {product.name}, and why" in text
        assert product.name.lower() not in text.replace(product.name, "")


@pytest.mark.clause("CPE-0.3")
@pytest.mark.parametrize("product", ["router", "gateway"])
def test_the_notice_shows_the_contact_channel(product: str) -> None:
    """The privacy contact — e-mail, company name, registered address — is in the notice."""
    text = notice_markdown(metadata, default_pack(), product)
    questions = text[text.index("## Questions") :]
    assert "privacy@zte.com.cn" in questions
    assert "ZTE Corporation" in questions
    assert "No. 55 Hi-Tech South Road, Nanshan District, Shenzhen, the PRC" in questions
    assert "ZTE Data Protection Compliance Department" in questions

"""Endpoint IDs: the examples of the reference parse; broken ones name the rule."""

from __future__ import annotations

import pytest

from doorstep.usp import EndpointId, InvalidEndpointIdError, parse_endpoint_id
from doorstep.usp.endpoint import is_valid_endpoint_id, os_endpoint_id, parse_urn


@pytest.mark.parametrize(
    "text",
    [
        "oui:00256D:my-unique-bbf-id-42",
        "oui:00256DA:x",
        "oui:00256DABC:x",
        "cid:3AA3F8:my-unique-usp-id-42",
        "pen:3561:my-unique-bbf-id-42",
        "self::my-Agent",
        "self:abcdef:my-Agent",
        "user::u1",
        "os::00256D-0123456789",
        "os::012345-001122AABBCC",
        "ops::00256D-STB-0123456789",
        "uuid::f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
        "imei::990000862471854",
        "fqdn::www.example.org",
        "proto::obuspa-test-1",
        "doc::agent%21",
        "self::hearth-controller",
    ],
)
def test_the_reference_examples_parse_and_print_back(text: str) -> None:
    parsed = parse_endpoint_id(text)
    assert str(parsed) == text
    assert is_valid_endpoint_id(text)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "separators"),
        ("self:my-Agent", "separators"),
        ("http::x", "unknown authority scheme"),
        ("oui:00256:x", "6, 7 or 9 hex digits"),
        ("oui:00256DAB:x", "6, 7 or 9 hex digits"),
        ("cid:3AA3F:x", "6 hex digits"),
        ("pen:35a1:x", "decimal"),
        ("self:abcdefg:x", "at most 6"),
        ("os:x:00256D-1", "empty"),
        ("self::", "instance-id"),
        ("self::a b", "instance-id"),
        ("self::a:b", "instance-id"),
        ("self::bad%zz", "instance-id"),
        ("self::" + "a" * 51, "50 characters"),
        ("os::00256D", "<OUI>-<SerialNumber>"),
        ("os::0025-1234", "<OUI>-<SerialNumber>"),
        ("ops::00256D-STB", "<OUI>-<ProductClass>-<SerialNumber>"),
        ("uuid::not-a-uuid", "UUID"),
        ("imei::12345", "15 digits"),
        ("fqdn::-bad.example", "domain name"),
    ],
)
def test_broken_ids_name_the_rule(text: str, rule: str) -> None:
    with pytest.raises(InvalidEndpointIdError) as caught:
        parse_endpoint_id(text)
    assert rule in caught.value.reason
    assert caught.value.fields["errors"] == [{"field": "endpoint_id", "rule": caught.value.reason}]
    assert not is_valid_endpoint_id(text)


def test_non_strings_are_invalid() -> None:
    with pytest.raises(InvalidEndpointIdError):
        parse_endpoint_id(42)  # type: ignore[arg-type]


def test_parts_of_device_ids() -> None:
    os_id = parse_endpoint_id("os::012345-00%2F11-22")
    assert (os_id.oui, os_id.serial_number, os_id.product_class) == ("012345", "00/11-22", None)
    ops = parse_endpoint_id("ops::00256d-STB-0123456789")
    assert (ops.oui, ops.product_class, ops.serial_number) == ("00256D", "STB", "0123456789")
    assert parse_endpoint_id("oui:00256D:x").oui == "00256D"
    assert parse_endpoint_id("self::x").oui is None


def test_production_flag() -> None:
    assert not parse_endpoint_id("proto::obuspa-test-1").production
    assert not parse_endpoint_id("doc::agent").production
    assert parse_endpoint_id("os::012345-001122AABBCC").production


def test_os_id_of_a_device_escapes_like_ob_usp_agent() -> None:
    assert str(os_endpoint_id("012345", "001122AABBCC")) == "os::012345-001122AABBCC"
    escaped = os_endpoint_id("012345", "SN 7/ü")
    assert str(escaped) == "os::012345-SN%207%2F%C3%BC"
    assert escaped.serial_number == "SN 7/ü"


def test_certificate_urn_form() -> None:
    parsed = parse_urn("urn:bbf:usp:id:os::012345-001122AABBCC")
    assert parsed == EndpointId("os", "", "012345-001122AABBCC")
    assert parsed.urn == "urn:bbf:usp:id:os::012345-001122AABBCC"
    with pytest.raises(InvalidEndpointIdError):
        parse_urn("os::012345-001122AABBCC")

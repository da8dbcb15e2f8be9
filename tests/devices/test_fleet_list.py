"""The fleet filter, the fleet list (keyset pages, capped count, withheld values) and groups."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from doorstep.core.clock import FakeClock
from doorstep.core.errors import ConflictError, InvalidInputError, NotFoundError
from doorstep.devices.fleet.filters import DeviceFilter, version_key
from doorstep.devices.fleet.groups import (
    count_members,
    create_group,
    delete_group,
    find_group,
    fleet_conditions,
    list_groups,
    resolve_group,
)
from doorstep.devices.fleet.listing import fleet_page
from doorstep.devices.fleet.tags import tag_devices, tags_of, untag_devices
from doorstep.devices.models import DeviceRegistration
from tests.devices.fleet_rows import add_devices, bind, restrict
from tests.packs import reference_gate

ACTOR = "system:cli"


def _rules(exc: pytest.ExceptionInfo[InvalidInputError]) -> set[tuple[str, str]]:
    return {(e["field"], e["rule"]) for e in exc.value.fields["errors"]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"colour": "red"}, {("colour", "unknown")}),
        ({"model": ""}, {("model", "length")}),
        ({"model": "x" * 101}, {("model", "length")}),
        ({"model": "a\nb"}, {("model", "printable")}),
        ({"online": "yes"}, {("online", "boolean")}),
        ({"product_type": "fridge"}, {("product_type", "product_type")}),
        ({"tags": ["Trial"]}, {("tags", "tag")}),
        ({"tags": ["02-00-5e-10-00-01"]}, {("tags", "tag")}),  # a MAC address is no tag
        ({"tags": "trial"}, {("tags", "list")}),
        ({"tags": [f"t{i}" for i in range(11)]}, {("tags", "at_most_10")}),
        ({"firmware": "1.0", "firmware_min": "0.9"}, {("firmware", "exact_or_range")}),
        ({"firmware_min": "beta"}, {("firmware_min", "version")}),
        ({"firmware_min": "2.0", "firmware_below": "1.10"}, {("firmware_below", "empty_range")}),
    ],
)
def test_a_bad_filter_is_refused_naming_each_field_and_rule(
    raw: dict[str, object], expected: set[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidInputError) as exc:
        DeviceFilter.parse(raw)
    assert _rules(exc) == expected


def test_a_filter_round_trips_through_its_json_form() -> None:
    raw = {
        "model": "Doorstep Router 9",
        "firmware_min": "1.9",
        "firmware_below": "1.10.2",
        "product_type": "gateway",
        "online": False,
        "tags": ["trial", "batch-7"],
    }
    found = DeviceFilter.parse(raw)
    assert found.to_json() == {**raw, "tags": ["batch-7", "trial"]}
    assert DeviceFilter.parse(found.to_json()) == found
    assert DeviceFilter.parse({}).empty and DeviceFilter.parse({}).describe() == "all devices"


def test_versions_order_by_their_numbers_in_python_and_in_postgresql(db: Session) -> None:
    versions = ["1.10", "1.9", "V2.0.1", "2.0", "1.9.0", "2", "beta", "10.0-rc1"]
    expected = sorted((v for v in versions if version_key(v)), key=lambda v: version_key(v) or ())
    rows = db.execute(
        sa.text(
            "SELECT v FROM unnest(CAST(:vs AS text[])) v WHERE doorstep_version_key(v) IS NOT NULL "
            "ORDER BY doorstep_version_key(v), v"
        ),
        {"vs": versions},
    ).scalars()
    in_sql = list(rows)
    assert [version_key(v) for v in in_sql] == [version_key(v) for v in expected]
    assert version_key("1.9") < version_key("1.10")  # type: ignore[operator]
    assert version_key("beta") is None and "beta" not in in_sql


def test_filters_select_by_model_version_range_product_online_and_tags(
    db: Session, clock: FakeClock
) -> None:
    now = clock.now()
    old = add_devices(db, 3, now=now, model="R9", firmware="1.9")
    new = add_devices(db, 2, now=now, model="R9", firmware="1.10")
    gateways = add_devices(db, 2, now=now, model="G2", firmware="2.0", product="gateway")
    offline = add_devices(db, 1, now=now, model="R9", firmware="1.9", online=False)
    tag_devices(db, [old[0], new[0]], "trial", actor=ACTOR, clock=clock)

    odd = add_devices(db, 1, now=now, model="R9", firmware="beta")

    def ids(**raw: object) -> set[uuid.UUID]:
        found = DeviceFilter.parse(raw)
        reg = DeviceRegistration
        by_key = set(db.scalars(sa.select(reg.device_id).where(*found.conditions())))
        # the same filter with the range resolved to the versions present (what pages use)
        resolved = set(db.scalars(sa.select(reg.device_id).where(*fleet_conditions(found, db))))
        assert resolved == by_key, raw
        return by_key

    assert ids(model="R9", firmware_below="1.10") == {*old, *offline}
    assert ids(model="R9", firmware_min="1.10") == set(new)
    assert ids(firmware="1.9", online=True) == set(old)
    assert ids(product_type="gateway") == set(gateways)
    assert ids(tags=["trial"]) == {old[0], new[0]}
    assert ids(tags=["trial"], firmware_min="1.10") == {new[0]}
    assert ids(model="R9", firmware="beta") == set(odd)  # in no range, but exact matches
    assert ids(firmware_min="0", firmware_below="99") == {*old, *new, *gateways, *offline}
    assert ids(firmware_min="3") == set()


def test_the_fleet_list_pages_by_keyset_in_id_order_with_a_capped_count(
    db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 23, now=clock.now(), model="R9")
    add_devices(db, 4, now=clock.now(), model="Other")
    found = DeviceFilter.parse({"model": "R9"})
    gate = reference_gate()
    seen: list[uuid.UUID] = []
    after = None
    pages = 0
    while True:
        page = fleet_page(db, gate, found, actor=ACTOR, after=after, limit=10, count_cap=20)
        pages += 1
        seen += [row.device_id for row in page.rows]
        assert page.capped and page.count == 20  # 23 match: "more than 20"
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == devices and pages == 3
    exact = fleet_page(db, gate, found, actor=ACTOR, limit=5)
    assert exact.count == 23 and not exact.capped
    db.commit()  # audit records are written at commit
    listed = db.execute(
        sa.text(
            "SELECT count(*) FROM audit_events WHERE action = 'devices.fleet_listed' "
            "AND purpose = 'device.maintenance'"
        )
    ).scalar_one()
    assert listed == pages + 1  # one record per page, never one per device


def test_the_list_withholds_model_and_firmware_of_a_device_whose_owner_restricted_maintenance(
    db: Session, clock: FakeClock
) -> None:
    now = clock.now()
    kept, restricted, anonymised = add_devices(db, 3, now=now, model="R9", firmware="1.2")
    restrict(db, bind(db, restricted, now=now), "device.maintenance", now=now)
    db.execute(
        sa.text("UPDATE device_registrations SET anonymised_at = :now WHERE device_id = :id"),
        {"now": now, "id": anonymised},
    )
    page = fleet_page(db, reference_gate(), DeviceFilter(), actor=ACTOR)
    rows = {row.device_id: row for row in page.rows}
    assert set(rows) == {kept, restricted}  # an anonymised record is not in the fleet
    assert not rows[kept].withheld
    assert (rows[kept].model, rows[kept].firmware_version) == ("R9", "1.2")
    assert rows[restricted].withheld
    assert (rows[restricted].model, rows[restricted].firmware_version) == (None, None)


def test_tags_are_added_once_removed_and_refused_when_malformed(
    db: Session, clock: FakeClock
) -> None:
    devices = add_devices(db, 3, now=clock.now())
    stranger = uuid.uuid4()
    first = tag_devices(db, [*devices[:2], stranger], "site.north", actor=ACTOR, clock=clock)
    assert (first.changed, first.unchanged, first.unknown) == (2, 0, 1)
    again = tag_devices(db, devices, "site.north", actor=ACTOR, clock=clock)
    assert (again.changed, again.unchanged) == (1, 2)
    assert tags_of(db, devices) == {d: ["site.north"] for d in devices}
    removed = untag_devices(db, devices[:1], "site.north", actor=ACTOR)
    assert removed.changed == 1 and tags_of(db, devices[:1]) == {devices[0]: []}
    for bad in ("Site", "a b", "x" * 41, "192.0.2.1", ""):
        with pytest.raises(InvalidInputError):
            tag_devices(db, devices, bad, actor=ACTOR, clock=clock)
    assert db.execute(sa.text("SELECT count(*) FROM device_tags")).scalar_one() == 2


def test_a_group_saves_its_filter_resolves_to_its_members_now_and_is_deleted(
    db: Session, clock: FakeClock
) -> None:
    now = clock.now()
    old = add_devices(db, 3, now=now, model="R9", firmware="1.9")
    add_devices(db, 2, now=now, model="R9", firmware="2.1")
    group = create_group(
        db, " R9 below 2 ", {"model": "R9", "firmware_below": "2"}, actor=ACTOR, clock=clock
    )
    assert group.name == "R9 below 2"
    assert resolve_group(db, group.id) == old
    assert count_members(db, group.filter) == 3 and count_members(db, group.filter, cap=2) == 3
    later = add_devices(db, 1, now=now, model="R9", firmware="1.0")
    assert resolve_group(db, group.id) == sorted([*old, *later])  # members are who match now
    with pytest.raises(ConflictError):
        create_group(db, "R9 below 2", {}, actor=ACTOR, clock=clock)
    with pytest.raises(InvalidInputError):
        create_group(db, "  ", {}, actor=ACTOR, clock=clock)
    with pytest.raises(InvalidInputError):
        create_group(db, "bad", {"firmware_below": "x"}, actor=ACTOR, clock=clock)
    assert find_group(db, "R9 below 2").id == group.id == find_group(db, str(group.id)).id
    assert [g.name for g in list_groups(db)] == ["R9 below 2"]
    delete_group(db, group.id, actor=ACTOR)
    with pytest.raises(NotFoundError):
        resolve_group(db, group.id)

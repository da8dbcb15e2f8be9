"""Start-up refuses bindings, rules, periods and settings that do not fit, naming each."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings, load_settings
from doorstep.privacy.datamap.pack import PolicyPack, Trigger, default_pack, load_pack
from doorstep.privacy.retention import (
    DELETE,
    Anonymise,
    Binding,
    Coarsen,
    ErasedWithSubject,
    PruneAuditTrail,
    Via,
    retention_info,
    validate_retention,
)
from doorstep.privacy.retention.bindings import OIDC_FLOW_TTL
from doorstep.privacy.retention.registry import problems
from doorstep.schema import metadata
from doorstep.vocabulary import LegalBasis, not_personal, personal
from tests.retention.conftest import DEVICE_REGISTRATION, device_schema


def _personal(rule: str) -> dict[str, object]:
    return personal(
        "user.device.device_id",
        purposes=["device.registration"],
        legal_basis=LegalBasis.CONTRACT,
        retention=rule,
    )


def _scratch(*bindings: Binding, rule: str = "device_registration") -> sa.MetaData:
    scratch = sa.MetaData()
    parent = sa.Table(
        "parents",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("key")),
        sa.Column("gone_at", sa.DateTime(timezone=True), info=not_personal("when")),
    )
    sa.Table(
        "things",
        scratch,
        sa.Column("id", sa.Integer, primary_key=True, info=not_personal("key")),
        sa.Column("parent_id", sa.ForeignKey(parent.c.id), info=not_personal("parent")),
        sa.Column("plain", sa.Integer, info=not_personal("no foreign key")),
        sa.Column("serial", sa.Text, info=_personal(rule)),
        sa.Column("seen", sa.DateTime(timezone=True), info=not_personal("last contact")),
        sa.Column("done_at", sa.DateTime(timezone=True), info=not_personal("marker")),
        sa.Column("model", sa.Text, nullable=False, info=not_personal("model")),
        info=retention_info(*bindings),
    )
    return scratch


def _problems(scratch: sa.MetaData, settings: Settings | None = None) -> list[str]:
    return problems(scratch, default_pack(), settings, extra={})


def test_the_shipped_schema_and_settings_are_valid() -> None:
    validate_retention(metadata, default_pack(), load_settings(env="test"))


def test_the_device_bindings_of_docs_retention_md_are_valid() -> None:
    assert _problems(device_schema()) == []


def test_the_oidc_flow_offset_follows_the_accounts_area() -> None:
    from doorstep.accounts.thirdparty.providers import FLOW_TTL

    assert OIDC_FLOW_TTL == FLOW_TTL


ANONYMISE = Anonymise({"serial": None}, marker="done_at")


@pytest.mark.clause("CPE-IV.3.b")
@pytest.mark.parametrize(
    ("bindings", "message"),
    [
        ((), "things.serial: retention rule 'device_registration' has no binding on table things"),
        (
            (Binding("forever", DELETE, trigger="seen"),),
            "things: retention binding names unknown rule 'forever'",
        ),
        (
            (Binding("device_registration", DELETE, trigger="sen"),),
            "trigger column things.sen does not exist",
        ),
        (
            (Binding("device_registration", DELETE, trigger=Via("plain", "gone_at")),),
            "things.plain is not a foreign key",
        ),
        (
            (Binding("device_registration", DELETE, trigger=Via("parent_id", "gone")),),
            "trigger column parents.gone does not exist",
        ),
        (
            (Binding("device_registration", Anonymise({"sreial": None}), trigger="seen"),),
            "anonymised column things.sreial does not exist",
        ),
        (
            (Binding("device_registration", Anonymise({"serial": "x"}), trigger="seen"),),
            "an anonymisation that is not all NULL needs a marker column",
        ),
        (
            (
                Binding(
                    "device_registration",
                    Anonymise({"serial": None}, marker="finished"),
                    trigger="seen",
                ),
            ),
            "marker column things.finished does not exist",
        ),
        (
            (
                Binding(
                    "device_registration",
                    Anonymise({"serial": None, "model": None}, marker="done_at"),
                    trigger="seen",
                ),
            ),
            "things.model is NOT NULL; it cannot become NULL",
        ),
        (
            (Binding("device_registration", ANONYMISE, trigger="seen", offset_setting="nope"),),
            "offset_setting 'nope' is no int setting",
        ),
        ((Binding("device_registration", ANONYMISE),), "a sweep needs a trigger column"),
        (
            (Binding("device_registration", ErasedWithSubject("id")),),
            "rules with trigger subject_erased (and only they)",
        ),
        (
            (Binding("device_registration", PruneAuditTrail(), trigger="seen"),),
            "PruneAuditTrail applies to audit_events only",
        ),
        (
            (
                Binding("device_registration", ANONYMISE, trigger="seen"),
                Binding("device_registration", ANONYMISE, trigger="seen"),
            ),
            "the binding of 'device_registration' is repeated",
        ),
        (
            (
                Binding("device_registration", ANONYMISE, trigger="seen"),
                Binding("outbox_messages", DELETE, trigger="seen"),
            ),
            "things: binds rule 'outbox_messages' but no column of things has it",
        ),
    ],
)
def test_a_bad_binding_fails_naming_it(bindings: tuple[Binding, ...], message: str) -> None:
    found = _problems(_scratch(*bindings))
    assert any(message in problem for problem in found), found
    with pytest.raises(ConfigurationError, match="retention is invalid"):
        validate_retention(_scratch(*bindings), default_pack(), extra={})


@pytest.mark.clause("CPE-IV.3.b")
def test_an_anonymisation_must_cover_every_column_of_its_rule() -> None:
    scratch = _scratch(Binding("device_registration", ANONYMISE, trigger="seen"))
    scratch.tables["things"].append_column(
        sa.Column("mac", sa.Text, info=_personal("device_registration"))
    )
    assert _problems(scratch) == [
        "things.mac: has rule 'device_registration' but its anonymisation leaves the column "
        "as it is"
    ]


@pytest.mark.clause("CPE-I.iii.R4")
@pytest.mark.clause("CPE-I.iii.R6")
@pytest.mark.parametrize("rule", ["wifi_scan", "live_status"])
def test_data_declared_never_stored_can_be_neither_a_column_nor_bound(rule: str) -> None:
    pack = default_pack()
    assert pack.retention[rule].trigger is Trigger.NOT_STORED
    as_column = _problems(_scratch(rule=rule))
    assert as_column == [
        f"things.serial: declares retention rule {rule!r}, which is not_stored: "
        "this data must never be stored"
    ]
    bound = _problems(_scratch(Binding(rule, DELETE, trigger="seen"), rule=rule))
    assert (
        f"things: binding of {rule!r}: the rule is not_stored; data declared never " in (bound[0])
    )


@pytest.mark.clause("CPE-IV.3.b")
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"retention_periods": {"forever": "P1D"}},
            "retention_periods.forever: unknown retention rule",
        ),
        ({"retention_periods": {"outbox_messages": "a week"}}, "'a week' is not an ISO 8601"),
        (
            {"retention_periods": {"outbox_messages": "P60D"}},
            "retention_periods.outbox_messages: P60D is longer than the policy pack's P30D",
        ),
        ({"retention_periods": {"wifi_scan": "P1D"}}, "rule 'wifi_scan' is not_stored"),
        ({"retention_periods": {"audit_trail": "P1Y"}}, "with audit_retention_days"),
        ({"audit_retention_days": 5000}, "audit_retention_days: 5000 days is longer"),
    ],
)
def test_settings_may_shorten_a_period_but_never_lengthen_it(
    overrides: dict[str, object], message: str
) -> None:
    settings = load_settings(env="test", **overrides)
    with pytest.raises(ConfigurationError, match="retention is invalid") as caught:
        validate_retention(metadata, default_pack(), settings)
    assert any(message in problem for problem in caught.value.fields["problems"]), caught.value


def test_settings_that_shorten_pass() -> None:
    settings = load_settings(
        env="test", retention_periods={"outbox_messages": "P7D"}, audit_retention_days=0
    )
    validate_retention(metadata, default_pack(), settings)


@pytest.mark.clause("CPE-IV.3.b")
def test_a_period_that_cannot_be_parsed_fails_naming_its_rule(tmp_path: Path) -> None:
    source = (default_pack().path / "datamap.yaml").read_text(encoding="utf-8")
    broken = source.replace("    period: P2Y\n", "    period: two years\n", 1)
    assert broken != source
    (tmp_path / "datamap.yaml").write_text(broken, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"retention rule 'device_registration': .*'two"):
        load_pack(tmp_path)


def test_a_rule_citing_an_unknown_clause_fails(tmp_path: Path) -> None:
    source = (default_pack().path / "datamap.yaml").read_text(encoding="utf-8")
    (tmp_path / "datamap.yaml").write_text(
        source.replace("clauses: [CPE-I.ii.1.c]", "clauses: [CPE-XX.9]"), encoding="utf-8"
    )
    (tmp_path / "clauses.yaml").write_text(
        (default_pack().path / "clauses.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    with pytest.raises(ConfigurationError, match="'device_registration' cites unknown clause"):
        load_pack(tmp_path)


def test_the_pack_rules_carry_their_clauses(pack: PolicyPack) -> None:
    assert pack.retention["device_registration"].clauses == ("CPE-I.ii.1.c",)
    assert "CPE-I.iii.R2" in pack.retention["pppoe_credentials"].clauses
    assert all(rule.clauses for rule in pack.retention.values())


def test_a_coarsened_or_pseudonymised_column_needs_a_marker_and_passes_with_one() -> None:
    binding = Binding(
        "device_registration",
        Anonymise({"serial": Coarsen("left(serial, 3)")}, marker="done_at"),
        trigger="seen",
    )
    assert _problems(_scratch(binding)) == []
    assert DEVICE_REGISTRATION.describe_action().startswith("anonymise serial_number")

"""Classification of a proposed version against the major-change triggers (decision 0019).

Pure: two :class:`PolicyFacts` compared, no database.  Each trigger of CPE VII
and CORP 8 alone makes a change major; a cosmetic change is minor.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from doorstep.privacy.consent.terms import load_terms
from doorstep.privacy.datamap.pack import default_pack
from doorstep.privacy.policies.classify import Trigger, classify
from doorstep.privacy.policies.facts import PolicyFacts, facts_of

BASE = facts_of(default_pack(), load_terms(default_pack()))


def _with(**changes: object) -> PolicyFacts:
    return replace(BASE, **changes)  # type: ignore[arg-type]


#: One proposed version per CPE VII trigger, and the trigger it must hit.
CPE_TRIGGERS = {
    # (1) the service model: purpose, type of personal information, way of use
    "service model": (
        _with(purposes={**BASE.purposes, "marketing.offers": "marketing"}),
        Trigger.PURPOSES,
    ),
    # (2) ownership or organisation
    "ownership": (
        _with(controller={**BASE.controller, "name": "Acquirer Holdings Ltd"}),
        Trigger.CONTROLLER,
    ),
    # (3) the main recipients of sharing, transfer, disclosure
    "recipients": (_with(recipients={"analytics.partner": "US SCC"}), Trigger.RECIPIENTS),
    # (4) user rights and how to exercise them
    "rights": (
        _with(rights={**BASE.rights, "access": "By letter only, to our head office."}),
        Trigger.RIGHTS,
    ),
    # (5) the responsible department, contact or complaint channel
    "contact": (_with(contact={**BASE.contact, "complaints": "A new hotline."}), Trigger.CONTACT),
    # (6) an impact assessment showing high risk
    "high risk": (_with(impact_assessment="high"), Trigger.IMPACT_ASSESSMENT),
}


@pytest.mark.clause("CPE-VII.4")
def test_six_changes_each_hitting_one_trigger_are_major_and_a_cosmetic_one_is_minor() -> None:
    for name, (proposed, trigger) in CPE_TRIGGERS.items():
        result = classify(BASE, proposed)
        assert result.major, name
        assert result.triggers == (trigger.value,), (name, result.triggers)
    cosmetic = classify(BASE, BASE, texts_changed=True)
    assert not cosmetic.major
    assert [change.area for change in cosmetic.changes] == ["texts"]
    shorter = dict(BASE.retention)
    shorter["one_time_code"] = str(3600)
    assert not classify(BASE, _with(retention=shorter)).major  # a shorter period is minor


@pytest.mark.clause("CORP-8.3")
def test_reduced_rights_changed_purposes_sensitive_types_and_ownership_are_each_major() -> None:
    fewer_rights = dict(BASE.rights)
    del fewer_rights["deletion"]
    longer = dict(BASE.retention)
    longer["sign_in_session"] = str(int(longer["sign_in_session"]) * 2)
    purposes = dict(BASE.purposes)
    purposes["customer.support"] = "marketing.advertising"
    sensitive = dict(BASE.consent)
    sensitive["account.profile"] += ", user.biometric"
    cases = {
        "reduced rights": (_with(rights=fewer_rights), True),
        "reduced commitment (longer period)": (_with(retention=longer), True),
        "changed purposes": (_with(purposes=purposes), False),
        "changed sensitive types": (_with(consent=sensitive), False),
        "ownership (merger)": (
            _with(controller={**BASE.controller, "name": "Merged Corporation"}),
            False,
        ),
    }
    for name, (proposed, reduces) in cases.items():
        result = classify(BASE, proposed)
        assert result.major, name
        assert any(change.reduces_rights for change in result.changes) is reduces, name
        assert result.requires_acceptance or not reduces, name


def test_a_purpose_removed_with_its_consent_term_asks_no_one_for_acceptance() -> None:
    purposes = {k: v for k, v in BASE.purposes.items() if k != "account.profile"}
    consent = {k: v for k, v in BASE.consent.items() if k != "account.profile"}
    result = classify(BASE, _with(purposes=purposes, consent=consent))
    assert result.major and not result.requires_acceptance


def test_facts_survive_the_json_they_are_stored_as() -> None:
    assert PolicyFacts.from_json(BASE.to_json()) == BASE

"""Compare two versions of the policy and classify each difference (CPE-VII.4, CORP-8.3, X-16).

Decision 0019: a change is major when it touches a trigger of either policy,
the union of CPE VII's six and CORP 8's four.  :data:`TRIGGERS` names each with
the clauses that list it.  Every difference :func:`classify` finds is a
:class:`Change`; its ``trigger`` is None for a minor one (wording, a shorter
period, a new retention rule, the policy texts).  Two flags say what the change
does to a subscriber who has not accepted it:

* ``reduces_rights`` — a right removed, a period made longer, a consent no
  longer asked: a commitment reduced (CORP-8.3, CPE-VII.1);
* ``needs_consent`` — a new purpose or use, a new consent term or category, a
  new recipient or transfer: processing the old version did not allow.

Either flag makes the version need each subscriber's acceptance
(:attr:`Classification.requires_acceptance`); until then the version they
accepted governs them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from doorstep.privacy.policies.facts import PolicyFacts


class Trigger(StrEnum):
    """The major-change triggers of decision 0019 (the union of both policies)."""

    PURPOSES = "purposes"
    DATA_USE = "data_use"
    DATA_CATEGORIES = "data_categories"
    RETENTION = "retention"
    RECIPIENTS = "recipients"
    TRANSFERS = "transfers"
    RIGHTS = "rights"
    CONTROLLER = "controller"
    CONTACT = "contact"
    IMPACT_ASSESSMENT = "impact_assessment"


#: The clauses that make each trigger major.
TRIGGERS: dict[Trigger, tuple[str, ...]] = {
    Trigger.PURPOSES: ("CPE-VII.4", "CORP-8.3"),
    Trigger.DATA_USE: ("CPE-VII.4",),
    Trigger.DATA_CATEGORIES: ("CPE-VII.4", "CORP-8.3"),
    Trigger.RETENTION: ("CORP-8.3",),
    Trigger.RECIPIENTS: ("CPE-VII.4",),
    Trigger.TRANSFERS: ("CPE-VII.4",),
    Trigger.RIGHTS: ("CPE-VII.4", "CORP-8.3", "CPE-VII.1"),
    Trigger.CONTROLLER: ("CPE-VII.4", "CORP-8.3"),
    Trigger.CONTACT: ("CPE-VII.4",),
    Trigger.IMPACT_ASSESSMENT: ("CPE-VII.4",),
}


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the version in force and a proposed one.

    ``area`` is the part of the policy (``purposes``, ``rights`` …), ``key`` the
    item, ``kind`` ``added``, ``removed``, ``changed``, ``longer`` or ``shorter``;
    ``before``/``after`` the values (empty when absent).
    """

    area: str
    key: str
    kind: str
    before: str
    after: str
    trigger: str | None
    reduces_rights: bool = False
    needs_consent: bool = False

    @property
    def major(self) -> bool:
        """Whether the change touches a major-change trigger."""
        return self.trigger is not None

    def describe(self) -> str:
        """One English line for notices and the history: what changed, where."""
        if self.kind == "added":
            return (
                f"{self.area}: {self.key} added ({self.after})"
                if self.after
                else (f"{self.area}: {self.key} added")
            )
        if self.kind == "removed":
            return f"{self.area}: {self.key} removed"
        if not self.before and not self.after:
            return f"{self.area}: {self.key} {self.kind}"
        return f"{self.area}: {self.key} {self.kind} ({self.before} -> {self.after})"

    def line(self) -> str:
        """One English line for the command line: major (with its trigger) or minor, the
        change, and the flags it carries (``policy preview``, ``pack diff``)."""
        label = f"MAJOR ({self.trigger})" if self.major else "minor"
        flags = [
            name
            for name, on in (
                ("reduces rights", self.reduces_rights),
                ("needs consent", self.needs_consent),
            )
            if on
        ]
        return f"{label:<28} {self.describe()}" + (f"  [{', '.join(flags)}]" if flags else "")

    def to_json(self) -> dict[str, Any]:
        """The change as stored in ``policy_versions.changes``."""
        return {**asdict(self), "major": self.major}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Change:
        """A change stored by :meth:`to_json`."""
        return cls(
            area=str(data["area"]),
            key=str(data["key"]),
            kind=str(data["kind"]),
            before=str(data.get("before", "")),
            after=str(data.get("after", "")),
            trigger=data.get("trigger"),
            reduces_rights=bool(data.get("reduces_rights")),
            needs_consent=bool(data.get("needs_consent")),
        )


@dataclass(frozen=True, slots=True)
class Classification:
    """Every change the classifier found, in a stable order."""

    changes: tuple[Change, ...]

    @property
    def major(self) -> bool:
        """Whether any change is major."""
        return any(change.major for change in self.changes)

    @property
    def requires_acceptance(self) -> bool:
        """Whether the version applies to a subscriber only once they accept it (CPE-VII.1)."""
        return any(change.reduces_rights or change.needs_consent for change in self.changes)

    @property
    def triggers(self) -> tuple[str, ...]:
        """The triggers touched, each once, in :class:`Trigger` order."""
        touched = {change.trigger for change in self.changes}
        return tuple(item.value for item in Trigger if item.value in touched)


def _diff(
    area: str,
    old: dict[str, str],
    new: dict[str, str],
    *,
    trigger: Trigger | None,
    added: dict[str, bool] | None = None,
    removed: dict[str, bool] | None = None,
    changed: dict[str, bool] | None = None,
) -> list[Change]:
    """Key-by-key differences of one area; the dicts give the flags of each kind of change."""
    found: list[Change] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        kind, flags = (
            ("added", added)
            if before is None
            else ("removed", removed)
            if after is None
            else ("changed", changed)
        )
        found.append(
            Change(
                area,
                key,
                kind,
                before or "",
                after or "",
                trigger and trigger.value,
                **(flags or {}),
            )
        )
    return found


def _retention(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    found: list[Change] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if before is None or after is None:
            found.append(
                Change(
                    "retention",
                    key,
                    "added" if before is None else "removed",
                    _days(before),
                    _days(after),
                    None,
                )
            )
        elif int(after) > int(before):
            found.append(
                Change(
                    "retention",
                    key,
                    "longer",
                    _days(before),
                    _days(after),
                    Trigger.RETENTION.value,
                    reduces_rights=True,
                )
            )
        else:
            found.append(Change("retention", key, "shorter", _days(before), _days(after), None))
    return found


def _days(seconds: str | None) -> str:
    if seconds is None:
        return ""
    value = int(seconds)
    return f"{value // 86400} days" if value % 86400 == 0 else f"{value // 3600} hours"


_CONSENT = {"needs_consent": True}
_REDUCES = {"reduces_rights": True}


def classify(old: PolicyFacts, new: PolicyFacts, *, texts_changed: bool = False) -> Classification:
    """Every difference from ``old`` to ``new``, classified against :data:`TRIGGERS`.

    ``texts_changed`` adds a minor change for the policy texts themselves (their
    wording is compared by the publisher, not by the classifier).
    """
    changes = [
        *_diff(
            "purposes",
            dict.fromkeys(old.purposes, ""),
            dict.fromkeys(new.purposes, ""),
            trigger=Trigger.PURPOSES,
            added=_CONSENT,
        ),
        *_diff(
            "data_use",
            {k: v for k, v in old.purposes.items() if k in new.purposes},
            {k: v for k, v in new.purposes.items() if k in old.purposes},
            trigger=Trigger.DATA_USE,
            changed=_CONSENT,
        ),
        *_diff(
            "consent",
            old.consent,
            new.consent,
            trigger=Trigger.DATA_CATEGORIES,
            added=_CONSENT,
            changed=_CONSENT,
            removed=_REDUCES,
        ),
        *_retention(old.retention, new.retention),
        *_diff(
            "recipients",
            old.recipients,
            new.recipients,
            trigger=Trigger.RECIPIENTS,
            added=_CONSENT,
            changed=_CONSENT,
        ),
        *_diff(
            "regions",
            old.regions,
            new.regions,
            trigger=Trigger.TRANSFERS,
            added=_CONSENT,
            changed=_CONSENT,
        ),
        *_diff("rights", old.rights, new.rights, trigger=Trigger.RIGHTS, removed=_REDUCES),
        *_diff("controller", old.controller, new.controller, trigger=Trigger.CONTROLLER),
        *_diff("contact", old.contact, new.contact, trigger=Trigger.CONTACT),
    ]
    # A consent term gone with its purpose asks nothing less of anyone: the purpose is gone.
    changes = [
        change
        if not (
            change.area == "consent" and change.kind == "removed" and change.key not in new.purposes
        )
        else Change(change.area, change.key, change.kind, change.before, "", change.trigger)
        for change in changes
    ]
    if old.impact_assessment != new.impact_assessment:
        changes.append(
            Change(
                "impact_assessment",
                "risk",
                "changed",
                old.impact_assessment,
                new.impact_assessment,
                Trigger.IMPACT_ASSESSMENT.value if new.impact_assessment == "high" else None,
            )
        )
    if old.on_refusal != new.on_refusal:
        changes.append(
            Change("on_refusal", "on_refusal", "changed", old.on_refusal, new.on_refusal, None)
        )
    if texts_changed:
        changes.append(Change("texts", "policy texts", "changed", "", "", None))
    return Classification(tuple(changes))

"""The words a subscriber reads about the removal of their settings from a router.

Message ids (``_()``): each is the ``outcome`` parameter of a notice
(:mod:`doorstep.notify.catalogue`: ``device.settings_removed``,
``device.settings_not_removed``, ``request.completed_router``,
``account.deregistered_router``), translated when the notice is rendered in the
subscriber's language.  :func:`summary` chooses the sentence a deletion or
account-closure confirmation adds for all of a subscriber's removals.

Contract: pure data and functions; no value of anyone's data, only states and codes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from doorstep.locale import _

REMOVED_ALL = _(
    "Your Internet access account and password, your Wi-Fi name and password and the list "
    "of devices that were connected to it were removed."
)
REMOVED_WHAT_THE_MODEL_ALLOWS = _(
    "What its model lets us remove was removed; the privacy center (My devices) shows each "
    "part. Its reset button clears the rest."
)
RESET = _("It was reset to its factory settings.")
NOT_REACHED = _(
    "It did not come online before the time we wait for it ran out. If you still have it, "
    "reset it with its reset button."
)
REFUSED = _(
    "It did not accept every change, or we could not confirm it. If you still have it, reset "
    "it with its reset button."
)

SUMMARY_DONE = _("Your settings were also removed from the routers you removed from your account.")
SUMMARY_PENDING = _(
    "Your settings are removed from a router you removed from your account the next time it "
    "connects to us; until then they stay on it."
)
SUMMARY_FAILED = _(
    "We could not remove your settings from a router you removed from your account. If you "
    "still have it, reset it with its reset button."
)

#: Why a removal failed, by the operation's reason code (anything else: :data:`REFUSED`).
FAILURES: Mapping[str, str] = {"unreachable": NOT_REACHED, "device_timeout": NOT_REACHED}


def succeeded_outcome(parts: Mapping[str, str], mode: str) -> str:
    """The sentence of a removal that succeeded."""
    if mode == "factory_reset":
        return RESET
    if all(value == "done" for value in parts.values()):
        return REMOVED_ALL
    return REMOVED_WHAT_THE_MODEL_ALLOWS


def failed_outcome(reason: str | None) -> str:
    """The sentence of a removal that failed."""
    return FAILURES.get(reason or "", REFUSED)


def summary(states: Iterable[str]) -> str | None:
    """The sentence for all of a subscriber's removals (``failed`` > ``pending`` > done)."""
    found = set(states)
    if not found:
        return None
    if "failed" in found:
        return SUMMARY_FAILED
    return SUMMARY_PENDING if "pending" in found else SUMMARY_DONE

"""The templates about removing a subscriber's settings from their routers (decision 0042).

Part of :data:`doorstep.notify.catalogue.SHIPPED` (documented there), kept apart so
the catalogue module stays small.  ``outcome`` is a worded parameter: a message id of
:mod:`doorstep.devices.fleet.wipe_words`, translated with the template; ``removed`` is
the date (ISO) the router left the subscriber.
"""

from __future__ import annotations

from doorstep.locale import _

REMOVAL_NOTICES: tuple[tuple[str, str, str, str | None], ...] = (
    (
        "device.settings_removed",
        _("Your settings were removed from your router"),
        _(
            "The router that was linked to your account until {removed} no longer holds your "
            "settings. {outcome}\n"
        ),
        None,
    ),
    (
        "device.settings_not_removed",
        _("We could not remove your settings from your router"),
        _(
            "We could not remove your settings from the router that was linked to your account "
            "until {removed}. {outcome}\n"
        ),
        None,
    ),
    (
        "request.completed_router",
        _("Your request has been carried out"),
        _("We have carried out your request {reference}.\n{outcome}\n"),
        None,
    ),
    (
        "account.deregistered_router",
        _("Your account has been deleted"),
        _(
            "Your account has been deleted. We have stopped using its information and are "
            "deleting or anonymising it.\n{outcome}\n"
        ),
        None,
    ),
)

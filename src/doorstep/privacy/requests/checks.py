"""Start-up checks of the requests area: its settings against the pack and the schema."""

from __future__ import annotations

import sqlalchemy as sa

from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import Settings
from doorstep.privacy.datamap.pack import PolicyPack
from doorstep.privacy.requests.corrections import validate_correctable
from doorstep.privacy.requests.models import RequestKind

EXPORT_RULE = "export_download"


def validate_requests(settings: Settings, pack: PolicyPack, metadata: sa.MetaData) -> None:
    """Raise :class:`ConfigurationError` naming the first setting the pack or schema refuses.

    * ``requests_automatic`` names request kinds;
    * ``requests_export_days`` is no longer than the pack's ``export_download`` rule;
    * every correctable element is a personal column linked to its subject.
    """
    kinds = {kind.value for kind in RequestKind}
    unknown = sorted(set(settings.requests_automatic) - kinds)
    if unknown:
        raise ConfigurationError(
            f"requests_automatic names unknown request kinds: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(kinds))})"
        )
    rule = pack.retention.get(EXPORT_RULE)
    if rule is None:
        raise ConfigurationError(f"the policy pack has no retention rule {EXPORT_RULE!r}")
    if settings.requests_export_days > rule.period.days:
        raise ConfigurationError(
            f"requests_export_days ({settings.requests_export_days}) is longer than the "
            f"pack's {EXPORT_RULE} rule ({rule.period.days} days)"
        )
    validate_correctable(metadata)

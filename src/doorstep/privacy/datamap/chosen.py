"""The policy pack in force: the one the ``policy_pack`` setting chooses.

The composition root (:mod:`doorstep.wiring`) loads it once per process with
:func:`load_chosen_pack` and hands it down: ``Services.pack`` for handlers, jobs
and commands that have the services, and :func:`chosen_pack` for the code below
:mod:`doorstep.services` that has only settings (the retention sweep, the area
commands), through the provider the root installs.  Nothing here falls back to
the reference pack: without the root, :func:`chosen_pack` refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from doorstep.core.errors import ConfigurationError
from doorstep.privacy.datamap.pack import PolicyPack, load_pack

if TYPE_CHECKING:
    from doorstep.core.settings import Settings

__all__ = ["PackProvider", "chosen_pack", "install_pack_provider", "load_chosen_pack"]


def load_chosen_pack(path: Path) -> PolicyPack:
    """Load the pack at ``path``, the value of the ``policy_pack`` setting.

    A path that is no pack folder is a :class:`ConfigurationError` naming the
    setting; a broken pack, one naming the file and key (:func:`load_pack`).
    """
    if not (path / "datamap.yaml").is_file():
        raise ConfigurationError(
            f"DOORSTEP_POLICY_PACK (policy_pack): {path} is not a policy pack folder "
            "(it holds no datamap.yaml)"
        )
    return load_pack(path)


PackProvider = Callable[["Settings"], PolicyPack]
_providers: list[PackProvider] = []


def install_pack_provider(provider: PackProvider) -> None:
    """Let :func:`chosen_pack` answer with ``provider`` (the composition root calls this once)."""
    _providers[:] = [provider]


def chosen_pack(settings: Settings) -> PolicyPack:
    """The pack ``settings.policy_pack`` names, as the composition root loaded it.

    RuntimeError when no composition root installed its provider (import
    :mod:`doorstep.wiring` first): the pack is never silently the reference one.
    A broken pack is the :class:`ConfigurationError` of :func:`load_chosen_pack`.
    """
    if not _providers:
        raise RuntimeError("no policy pack provider is installed: import doorstep.wiring first")
    return _providers[0](settings)

"""What a simulated fleet shares: its delays and the conditions its devices meet.

* :class:`SimTiming`: how long things take (onboarding retry, site survey, reboot,
  firmware download and activation, diagnostics) and the per-device ``jitter``.
* :class:`SimConditions`: the clock the devices read, the ``seed`` of every draw,
  the failure rates of firmware downloads and activations, and an optional table of
  firmware versions by URL.

Both are frozen and shared by every device of a fleet, so a device pays one
reference for each.  :func:`draw` makes every random choice from the seed, the
device's endpoint id, what is drawn and a counter: one seed gives one run again,
and no device keeps random state of its own (a ``random.Random`` would cost 2.5 KiB
per device).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from doorstep.core.clock import Clock, SystemClock


@dataclass(frozen=True, slots=True)
class SimTiming:
    """Delays of the simulated device, in seconds."""

    onboard_retry: float = 5.0
    site_survey: float = 0.2
    reboot: float = 0.2
    """Before a reboot drops the session, and again while the device is dark."""
    download: float = 1.0
    """A firmware Download() from its start to the image being Available (or failing)."""
    activate: float = 0.5
    """Extra dark time while a device switches firmware images (on top of ``reboot``)."""
    diagnostics: float = 0.5
    """IPPing(), TraceRoute(), DownloadDiagnostics() and UploadDiagnostics()."""
    answer: float = 0.0
    """A slow or busy device: each request is carried out at once and answered this much
    later (0: at once); an answer still due when the session ends is never sent."""
    jitter: float = 0.0
    """Spread between devices: each device scales every delay above (except
    ``onboard_retry``) by a factor of its own in ``[1 - jitter, 1 + jitter]``."""


@dataclass(frozen=True, slots=True)
class SimConditions:
    """The conditions a simulated fleet runs under; rates are probabilities in [0, 1]."""

    clock: Clock = field(default_factory=SystemClock)
    """The time in TransferComplete!, BootFailureLog and the speed tests' timestamps."""
    seed: int = 0
    """Seed of every draw (failures, jitter, diagnostics figures)."""
    download_failure: float = 0.0
    """Share of firmware downloads that fail in transfer (Status DownloadFailed)."""
    activation_failure: float = 0.0
    """Share of activations whose image does not boot: the device comes back on its
    previous image (Status ActivationFailed, BootFailureLog set)."""
    never_returns: float = 0.0
    """Share of activations after which the device stays offline (until power_on())."""
    firmware_versions: Mapping[str, str] = field(default_factory=dict)
    """Version of an image by its URL or file name, where the file name does not say."""


DEFAULT_CONDITIONS = SimConditions()


def draw(seed: int, endpoint_id: str, what: str, counter: int = 0) -> float:
    """A number in [0, 1), the same for the same arguments (BLAKE2b of them)."""
    text = f"{seed}\x1f{endpoint_id}\x1f{what}\x1f{counter}".encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def spread(seed: int, endpoint_id: str, jitter: float) -> float:
    """The device's own delay factor in ``[1 - jitter, 1 + jitter]``."""
    if jitter <= 0:
        return 1.0
    return 1.0 + jitter * (2 * draw(seed, endpoint_id, "jitter") - 1)

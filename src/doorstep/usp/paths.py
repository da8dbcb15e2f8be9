"""The purpose gate per TR-181 path: which paths a request may name for which purpose.

Every Get, Set, Operate, Add (a Subscribe is an Add of
``Device.LocalAgent.Subscription.``), Delete and GetInstances the controller sends
names its purpose; :class:`UspPathPolicy` holds, per purpose, the path prefixes the
pack's data map declares (``usp_paths:`` in ``datamap.yaml``) and refuses any path
that none of them starts.  Each purpose's prefixes are compiled once into one
anchored regular expression, so a check is a single ``match`` per path.

:func:`paths_of` lists what a request names: Get and GetInstances paths, every
``object + parameter`` of a Set or Add (never a value, except the ``ReferenceList``
of a subscription, which *is* a list of paths), the command of an Operate, the
objects of a Delete.  GetSupportedDM and GetSupportedProtocol read no values and
name no purpose.  :func:`shape` replaces search expressions (``[HostName=="…"]``),
which could hold a value, before a path is written to an audit record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from doorstep.core.errors import PurposeRefusedError
from doorstep.usp._requests import Add, Delete, Get, GetInstances, Operate, Set

__all__ = ["SUBSCRIPTIONS", "PathRefusedError", "UspPathPolicy", "paths_of", "shape"]

SUBSCRIPTIONS = "Device.LocalAgent.Subscription."
"""The table a Subscribe adds to; its ``ReferenceList`` names the paths subscribed to."""
_SEARCH = re.compile(r"\[[^\]]*\]")


def shape(path: str) -> str:
    """``path`` with every search expression replaced by ``[…]`` (safe for audit records)."""
    return _SEARCH.sub("[…]", path)


class PathRefusedError(PurposeRefusedError):
    """A request named a path the data map does not declare for its purpose (403).

    ``fields`` hold the purpose and the path's shape (no search values, no
    parameter values), and the reason: ``path_not_declared`` or ``no_purpose``.
    """

    code = "usp-path-refused"
    title = "Path not declared for this purpose"

    def __init__(self, purpose: str | None, path: str, reason: str) -> None:
        super().__init__(
            f"the data map does not declare this device path for purpose {purpose}",
            purpose=purpose,
            path=shape(path),
            reason=reason,
        )
        self.purpose = purpose
        self.path = shape(path)
        self.reason = reason


def paths_of(body: object) -> tuple[str, ...]:
    """The TR-181 paths a request names (empty for requests that read no values)."""
    if isinstance(body, Get):
        return body.param_paths
    if isinstance(body, GetInstances | Delete):
        return body.obj_paths
    if isinstance(body, Operate):
        return (body.command,)
    if isinstance(body, Set):
        return tuple(o.obj_path + s.param for o in body.update_objs for s in o.param_settings)
    if isinstance(body, Add):
        found: list[str] = []
        for obj in body.create_objs:
            found.append(obj.obj_path)
            for setting in obj.param_settings:
                if obj.obj_path.startswith(SUBSCRIPTIONS) and setting.param == "ReferenceList":
                    found.extend(p.strip() for p in setting.value.split(",") if p.strip())
        return tuple(found)
    return ()


class UspPathPolicy:
    """Per purpose, the TR-181 path prefixes a request may name (precompiled)."""

    def __init__(self, prefixes: Mapping[str, Iterable[str]]) -> None:
        self.prefixes: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {purpose: tuple(paths) for purpose, paths in prefixes.items()}
        )
        self._compiled = {
            purpose: re.compile("|".join(re.escape(p) for p in paths))
            for purpose, paths in self.prefixes.items()
            if paths
        }

    def refused(self, purpose: str | None, paths: Iterable[str]) -> tuple[str, str] | None:
        """``(path, reason)`` of the first path ``purpose`` may not name, or None."""
        pattern = self._compiled.get(purpose) if purpose is not None else None
        for path in paths:
            if purpose is None:
                return path, "no_purpose"
            if pattern is None or pattern.match(path) is None:
                return path, "path_not_declared"
        return None

    def check(self, purpose: str | None, body: object) -> None:
        """Raise :class:`PathRefusedError` unless every path of ``body`` is declared."""
        refused = self.refused(purpose, paths_of(body))
        if refused is not None:
            raise PathRefusedError(purpose, *refused)

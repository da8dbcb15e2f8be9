"""Import every module that declares tasks, so workers know them all.

A new area adds its ``tasks`` module here.
"""

from doorstep.accounts import tasks as _accounts_tasks  # noqa: F401
from doorstep.audit import tasks as _audit_tasks  # noqa: F401
from doorstep.devices import tasks as _devices_tasks  # noqa: F401
from doorstep.jobs import housekeeping, stalled  # noqa: F401
from doorstep.notify import tasks as _notify_tasks  # noqa: F401
from doorstep.privacy.requests import tasks as _requests_tasks  # noqa: F401
from doorstep.privacy.retention import tasks as _retention_tasks  # noqa: F401

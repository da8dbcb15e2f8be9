"""Import every module that declares tasks, so workers know them all.

A new area adds its ``tasks`` module here.
"""

from doorstep.audit import tasks as _audit_tasks  # noqa: F401
from doorstep.jobs import housekeeping  # noqa: F401

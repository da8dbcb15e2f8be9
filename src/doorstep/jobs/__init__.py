"""Background jobs on the same PostgreSQL database (Procrastinate).

* :mod:`.registry` — declare a task with :func:`job` or :func:`periodic`;
* :mod:`.enqueue` — :func:`enqueue` a job inside the caller's transaction;
* :mod:`.worker` — build the Procrastinate app and run workers;
* :mod:`.claim` — do a waiting job's work in the caller's own transaction.
"""

from doorstep.jobs.enqueue import enqueue
from doorstep.jobs.registry import JobContext, job, periodic

__all__ = ["JobContext", "enqueue", "job", "periodic"]

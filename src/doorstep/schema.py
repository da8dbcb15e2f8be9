"""Import every model module so ``Base.metadata`` holds the whole schema.

Alembic, the data-map checks and the tests import this module; a new area adds
its ``models`` import here.
"""

from doorstep.core.models import Base
from doorstep.privacy.subjects import models as _subjects  # noqa: F401

metadata = Base.metadata

__all__ = ["Base", "metadata"]

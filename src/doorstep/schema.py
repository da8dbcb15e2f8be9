"""Import every model module so ``Base.metadata`` holds the whole schema.

Alembic, the data-map checks and the tests import this module; a new area adds
its ``models`` import here.
"""

from doorstep.accounts import models as _accounts  # noqa: F401
from doorstep.audit import models as _audit  # noqa: F401
from doorstep.core.models import Base
from doorstep.devices import models as _devices  # noqa: F401
from doorstep.keys import models as _keys  # noqa: F401
from doorstep.notify import models as _notify  # noqa: F401
from doorstep.privacy.consent import models as _consent  # noqa: F401
from doorstep.privacy.purposes import models as _purposes  # noqa: F401
from doorstep.privacy.requests import models as _requests  # noqa: F401
from doorstep.privacy.sharing import models as _sharing  # noqa: F401
from doorstep.privacy.subjects import models as _subjects  # noqa: F401
from doorstep.staff import models as _staff  # noqa: F401

metadata = Base.metadata

__all__ = ["Base", "metadata"]

"""Import every model module so ``Base.metadata`` holds the whole schema.

The composition root (:mod:`doorstep.wiring`), Alembic and the tests import this
module; a new area adds its ``models`` import here.  Code below the composition
reads the schema with :func:`doorstep.core.models.schema_metadata`.
"""

from doorstep.accounts.account import models as _accounts_account  # noqa: F401
from doorstep.accounts.children import models as _accounts_children  # noqa: F401
from doorstep.accounts.deregistration import models as _accounts_deregistration  # noqa: F401
from doorstep.accounts.profile import models as _accounts_profile  # noqa: F401
from doorstep.accounts.sessions import models as _accounts_sessions  # noqa: F401
from doorstep.accounts.signin import models as _accounts_signin  # noqa: F401
from doorstep.accounts.signup import models as _accounts_signup  # noqa: F401
from doorstep.accounts.thirdparty import models as _accounts_thirdparty  # noqa: F401
from doorstep.audit import models as _audit  # noqa: F401
from doorstep.core.models import Base, schema_complete
from doorstep.devices import models as _devices  # noqa: F401
from doorstep.devices.fleet import bulk_models as _fleet_bulk  # noqa: F401
from doorstep.devices.fleet import diagnostics_models as _fleet_diagnostics  # noqa: F401
from doorstep.devices.fleet import filters as _fleet_filters  # noqa: F401
from doorstep.devices.fleet import groups as _fleet_groups  # noqa: F401
from doorstep.devices.fleet import image_models as _fleet_images  # noqa: F401
from doorstep.devices.fleet import operations as _fleet_operations  # noqa: F401
from doorstep.devices.fleet import rollout_models as _fleet_rollouts  # noqa: F401
from doorstep.devices.fleet import tags as _fleet_tags  # noqa: F401
from doorstep.devices.fleet import time_zones as _fleet_time_zones  # noqa: F401
from doorstep.devices.fleet import wipe_models as _fleet_wipes  # noqa: F401
from doorstep.keys import models as _keys  # noqa: F401
from doorstep.notify import models as _notify  # noqa: F401
from doorstep.privacy.changes import models as _changes  # noqa: F401
from doorstep.privacy.connectors import models as _connectors  # noqa: F401
from doorstep.privacy.connectors.completions import models as _completions  # noqa: F401
from doorstep.privacy.connectors.withdrawals import models as _withdrawals  # noqa: F401
from doorstep.privacy.consent import models as _consent  # noqa: F401
from doorstep.privacy.controls import models as _controls  # noqa: F401
from doorstep.privacy.holds import models as _holds  # noqa: F401
from doorstep.privacy.incidents import models as _incidents  # noqa: F401
from doorstep.privacy.policies import models as _policies  # noqa: F401
from doorstep.privacy.requests import models as _requests  # noqa: F401
from doorstep.privacy.requests.inquiries import models as _requests_inquiries  # noqa: F401
from doorstep.privacy.requests.systems import models as _requests_systems  # noqa: F401
from doorstep.privacy.restrictions import models as _restrictions  # noqa: F401
from doorstep.privacy.sharing import models as _sharing  # noqa: F401
from doorstep.privacy.subjects import models as _subjects  # noqa: F401
from doorstep.privacy.transfers import models as _transfers  # noqa: F401
from doorstep.staff import models as _staff  # noqa: F401

schema_complete()
metadata = Base.metadata

__all__ = ["Base", "metadata"]

"""The table of the connectors' credentials, stored encrypted (envelope encryption).

``connector_credentials`` holds, per connected system of the pack, the secret a
connector needs besides the declared url (a database password, an API token):
sealed with a random data key that is itself wrapped by the keyring's active
key-encryption key (decision 0006), so a database dump alone never reveals it.
The url is never stored here: it comes from the pack only.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from doorstep.core.models import Base
from doorstep.vocabulary import not_personal


class ConnectorCredential(Base):
    """The sealed secret of one connected system."""

    __tablename__ = "connector_credentials"

    system: Mapped[str] = mapped_column(
        sa.Text, primary_key=True, info=not_personal("key of a connected system of the pack")
    )
    kek_id: Mapped[str] = mapped_column(
        sa.Text, info=not_personal("id of the key-encryption key that wraps the data key")
    )
    wrapped_key: Mapped[bytes] = mapped_column(
        sa.LargeBinary, info=not_personal("the data key, wrapped by the keyring")
    )
    secret: Mapped[bytes] = mapped_column(
        sa.LargeBinary,
        info=not_personal("the system's password or token, sealed; an operator's, not a person's"),
    )
    set_at: Mapped[datetime] = mapped_column(info=not_personal("when the secret was last set"))

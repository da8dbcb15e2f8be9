"""The declarative base every Doorstep model derives from, and the schema it makes.

Constraint names follow one convention so migrations are reproducible, and every
``datetime`` column is ``timestamptz``.

:func:`schema_metadata` is the whole schema for code in any layer that works on
every table (the purpose gate, erasure, retention, the data-map commands).  The
composition (:mod:`doorstep.schema`, imported by :mod:`doorstep.wiring`, Alembic
and the tests) imports every area's models and then calls :func:`schema_complete`;
before that, :func:`schema_metadata` refuses rather than answer with part of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of all models; its metadata is the schema the migrations build."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: sa.DateTime(timezone=True),
        uuid.UUID: UUID(as_uuid=True),
        dict[str, object]: JSONB,
    }


_SCHEMA_COMPLETE = "doorstep.schema_complete"


def schema_complete() -> None:
    """Mark :attr:`Base.metadata` as holding every model (called by :mod:`doorstep.schema`)."""
    Base.metadata.info[_SCHEMA_COMPLETE] = True


def schema_metadata() -> sa.MetaData:
    """The metadata of Doorstep's whole schema; RuntimeError if it was never completed."""
    if not Base.metadata.info.get(_SCHEMA_COMPLETE):
        raise RuntimeError("the schema is incomplete: import doorstep.schema first")
    return Base.metadata


def enum_type(enum: type[StrEnum], name: str) -> sa.Enum:
    """A PostgreSQL enum named ``name`` holding the members' values (not their names)."""
    return sa.Enum(enum, name=name, values_callable=lambda members: [m.value for m in members])

"""The staff tests share the scratch schema and gate of the privacy tests."""

from tests.privacy.conftest import gate, scratch_schema

__all__ = ["gate", "scratch_schema"]

"""Moved to tests/support/world.py; this name stays so older imports keep working.
Test modules import from tests.support (tests/test_layout_of_tests.py checks it)."""

from tests.support.people import GroupPerson
from tests.support.world import (
    ADMIN,
    ENG_GROUP,
    ENV_GROUP,
    MGR_GROUP,
    SEC_GROUP,
    SERVICE_GROUP,
    FakeSender,
    World,
)

__all__ = [
    "ADMIN",
    "ENG_GROUP",
    "ENV_GROUP",
    "MGR_GROUP",
    "SEC_GROUP",
    "SERVICE_GROUP",
    "FakeSender",
    "GroupPerson",
    "World",
]

"""Moved to tests/support/people.py; this name stays so older imports keep working.
Test modules import from tests.support (tests/test_layout_of_tests.py checks it)."""

from tests.support.people import FakeClassification, Person, fake_classify

__all__ = ["FakeClassification", "Person", "fake_classify"]

"""Fixtures shared with the areas whose rules these tests race."""

from tests.benefits.conftest import story  # noqa: F401 - the benefit stories' cast

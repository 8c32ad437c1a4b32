"""Replica tests reuse the session's throwaway PostgreSQL cluster (tests/conftest.py) and the sync tests' site."""

from tests.sync.conftest import site  # noqa: F401 -- the fixture, by name

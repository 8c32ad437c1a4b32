"""Replica tests reuse the sync tests' throwaway PostgreSQL cluster and site fixtures."""

from tests.sync.conftest import pg_cluster, site  # noqa: F401 -- fixtures, by name

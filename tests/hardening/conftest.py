"""Fixtures for the hardening tests (issue 15): the provisioning tests' site and real hub on 127.0.0.1."""

from tests.provision.conftest import hub, site, site_dir  # noqa: F401  (fixtures, shared rather than copied)

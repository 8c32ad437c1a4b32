"""The ``gatekeeper`` command: admin commands, the checker, and the daemon.

Each command group lives in a module of this package named for it.
"""

from __future__ import annotations

import click

from gatekeeper import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gatekeeper")
def main() -> None:
    """Gatekeeper: offline-first QR pass checking for community gates."""


def _register() -> None:
    from gatekeeper.cli import check, demo, enrolment, hub, letters, lists, passes, printing, provision, run, site, users  # noqa: F401, I001, E501  (each registers its commands on main)


_register()

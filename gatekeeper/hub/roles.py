"""The roles of console accounts and API callers (re-exported by ``gatekeeper.hub.auth``)."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a person (or a script) may do: admin everything, operator passes and gates, viewer read."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"


#: The roles that may change passes, units and gates (accounts stay with ADMIN).
CHANGERS = frozenset({Role.ADMIN, Role.OPERATOR})

"""Reason codes: the one stable word a decision gives for itself.

The strings are part of the JSON interface (logs, hub, admins' scripts): never rename them.
"""

from __future__ import annotations

import enum


class Reason(str, enum.Enum):  # noqa: UP042 -- str() and format() of a code stay as they were
    """Why a decision came out as it did. ``OK`` is the only reason that allows by itself."""

    OK = "ok"
    NO_CODE = "no_code"
    BAD_FORMAT = "bad_format"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_ISSUER = "unknown_issuer"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    OUT_OF_SCOPE = "out_of_scope"
    STATUS_RED = "status_red"
    STATUS_YELLOW = "status_yellow"
    REVOKED = "revoked"
    LIST_STALE = "list_stale"
    CLOCK_UNTRUSTED = "clock_untrusted"
    MANUAL = "manual"  # a volunteer's override: logged, never produced by the policy

    def __str__(self) -> str:
        return self.value


#: When several reasons apply, the first in this order wins.
PRECEDENCE: tuple[Reason, ...] = (
    Reason.NO_CODE,
    Reason.BAD_FORMAT,
    Reason.BAD_SIGNATURE,
    Reason.UNKNOWN_ISSUER,
    Reason.OUT_OF_SCOPE,
    Reason.NOT_YET_VALID,
    Reason.EXPIRED,
    Reason.REVOKED,
    Reason.STATUS_RED,
    Reason.STATUS_YELLOW,
    Reason.CLOCK_UNTRUSTED,
    Reason.LIST_STALE,
)

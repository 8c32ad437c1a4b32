"""What the volunteer reads for each decision reason code: Chinese and English, short."""

from __future__ import annotations

#: reason code -> (Chinese, English). Keep each under about ten characters / three words: it is
#: read at a glance from a metre away.
REASON_TEXT: dict[str, tuple[str, str]] = {
    "ok": ("通过", "Pass"),
    "no_code": ("未识别通行码", "No pass found"),
    "bad_format": ("格式错误", "Invalid code"),
    "bad_signature": ("签名无效", "Forged"),
    "unknown_issuer": ("未知签发方", "Unknown issuer"),
    "expired": ("已过期", "Expired"),
    "not_yet_valid": ("尚未生效", "Not yet valid"),
    "out_of_scope": ("无权通行", "Not valid here"),
    "status_red": ("红码", "Red status"),
    "status_yellow": ("黄码", "Yellow status"),
    "revoked": ("已撤销", "Revoked"),
    "list_stale": ("名单过期", "List out of date"),
    "clock_untrusted": ("时钟不可信", "Clock not trusted"),
    "manual": ("人工放行", "Manual override"),
    # not a decision reason: the passage log could not be written, so nothing opens (daemon alarm)
    "log_failed": ("无法记录", "Cannot record"),
}

#: Shown for a code missing from the table (a newer core than this page): never blank.
UNKNOWN_REASON = ("未知原因", "Unknown reason")


def reason_text(code: str) -> tuple[str, str]:
    """The (Chinese, English) text for a reason code."""
    return REASON_TEXT.get(code, UNKNOWN_REASON)

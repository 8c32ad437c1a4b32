"""The pure decision core: keys, passes, trust and revocation lists, policy, Decision.

Imports nothing else of the project and does no I/O, so it is fast and exhaustively testable.
"""

from .envelope import ListError, open_envelope
from .keys import PrivateKey, PublicKey, key_id
from .passes import (
    MAX_LABEL_BYTES, PassClaims, PassFormatError, Status, issue, new_pass_id, parse, scope_covers, validate_label,
    validate_scope,
)
from .policy import Clock, Decision, Policy, SitePolicy, decide
from .reasons import PRECEDENCE, Reason
from .revocation import (
    MAX_ISSUER_VERSION_STEP, Entry, EntryState, Lookup, RevocationList, check_signer_bounds, load_revocation_list,
    pack_entries, pack_ids,
)
from .trust import Issuer, TrustList, load_trust_list

__all__ = [
    "MAX_ISSUER_VERSION_STEP", "MAX_LABEL_BYTES", "Clock", "Decision", "Entry", "EntryState", "Issuer", "ListError", "Lookup", "PassClaims",
    "PassFormatError", "Policy", "PRECEDENCE", "PrivateKey", "PublicKey", "Reason",
    "RevocationList", "SitePolicy", "Status", "TrustList", "check_signer_bounds", "decide", "issue", "key_id",
    "load_revocation_list", "load_trust_list", "new_pass_id", "open_envelope", "pack_entries",
    "pack_ids", "parse", "scope_covers", "validate_label", "validate_scope",
]

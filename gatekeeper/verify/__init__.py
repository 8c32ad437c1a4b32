"""The pure decision core: keys, passes, trust and revocation lists, policy, Decision.

Imports nothing else of the project and does no I/O, so it is fast and exhaustively testable.
"""

from gatekeeper.verify.envelope import ListError, field, load_body, open_envelope, seal
from gatekeeper.verify.keys import PrivateKey, PublicKey, key_id
from gatekeeper.verify.passes import (
    MAX_LABEL_BYTES,
    MAX_TIME,
    PASS_ID_LEN,
    SIGN_DOMAIN,
    PassClaims,
    PassFormatError,
    Status,
    issue,
    new_pass_id,
    parse,
    scope_covers,
    validate_label,
    validate_scope,
)
from gatekeeper.verify.policy import Clock, Decision, Policy, SitePolicy, decide
from gatekeeper.verify.reasons import PRECEDENCE, Reason
from gatekeeper.verify.revocation import KIND as REVOCATION_KIND
from gatekeeper.verify.revocation import (
    MAX_ISSUER_VERSION_STEP,
    Entry,
    EntryState,
    Lookup,
    RevocationList,
    check_signer_bounds,
    load_revocation_list,
    pack_entries,
    pack_ids,
    revocation_list_from_envelope,
)
from gatekeeper.verify.trust import KIND as TRUST_KIND
from gatekeeper.verify.trust import Issuer, TrustList, load_trust_list

__all__ = [
    "MAX_ISSUER_VERSION_STEP", "MAX_LABEL_BYTES", "MAX_TIME", "PASS_ID_LEN", "PRECEDENCE", "REVOCATION_KIND",
    "SIGN_DOMAIN", "TRUST_KIND", "Clock", "Decision", "Entry", "EntryState", "Issuer", "ListError", "Lookup",
    "PassClaims", "PassFormatError", "Policy", "PrivateKey", "PublicKey", "Reason", "RevocationList", "SitePolicy",
    "Status", "TrustList", "check_signer_bounds", "decide", "field", "issue", "key_id", "load_body",
    "load_revocation_list", "load_trust_list", "new_pass_id", "open_envelope", "pack_entries", "pack_ids", "parse",
    "revocation_list_from_envelope", "scope_covers", "seal", "validate_label", "validate_scope",
]

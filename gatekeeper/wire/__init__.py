"""What crosses a machine: request signing and protocol constants, the passage-log row, batches and
acks, the freshness statement, the enrolment QR and the offline bundle. Imports only ``verify``;
docs/sync-protocol.md and docs/provisioning.md document every format here.
"""

from __future__ import annotations

from gatekeeper.wire.batch import (
    Ack,
    Batch,
    Parked,
    conflict,
    encode_batch,
    hub_time,
    inflate,
    row_json,
    take_within,
)
from gatekeeper.wire.enrolment import (
    BUNDLE_KIND,
    ENROL_QR_KIND,
    ENROL_QR_PREFIX,
    MIN_FINGERPRINT_HEX,
    AuthorityPin,
    DeviceMaterial,
    EnrolmentQR,
    ProvisionError,
    fingerprint,
    make_bundle,
    open_bundle,
    parse_enrolment_qr,
    show_fingerprint,
)
from gatekeeper.wire.freshness import FRESHNESS_KIND, Freshness, read_freshness
from gatekeeper.wire.passage import (
    FLAG_FIELDS,
    ROW_FIELDS,
    UNKNOWN_BOOT,
    LoggedRow,
    Mono,
    PassageRow,
    RowKind,
    Seq,
    Strict,
    Time,
    bounded_text,
    column_sql,
)
from gatekeeper.wire.protocol import (
    API,
    DOMAIN,
    H_DEVICE,
    H_FRESHNESS,
    H_HUB_TIME,
    H_NONCE,
    H_SIGNATURE,
    H_TIME,
    LIST_MEDIA_TYPE,
    MAX_BATCH_ROWS,
    MAX_BODY_BYTES,
    MAX_INFLATED_BYTES,
    NONCE_BYTES,
    PATH_ENROL,
    PATH_LISTS,
    PATH_LOG,
    TIME_WINDOW_S,
    SignedRequest,
    b64,
    device_id,
    etag,
    parse_signature_headers,
    sign_request,
    signed_message,
    unb64,
)
from gatekeeper.wire.report import (
    MAX_REPORT_CHARS,
    REPORT_PARAM,
    Alarm,
    GateReport,
    decode_report,
    encode_report,
)

__all__ = ['API', 'BUNDLE_KIND', 'DOMAIN', 'ENROL_QR_KIND', 'ENROL_QR_PREFIX', 'FLAG_FIELDS', 'FRESHNESS_KIND', 'H_DEVICE', 'H_FRESHNESS', 'H_HUB_TIME', 'H_NONCE', 'H_SIGNATURE', 'H_TIME', 'LIST_MEDIA_TYPE', 'MAX_BATCH_ROWS', 'MAX_BODY_BYTES', 'MAX_INFLATED_BYTES', 'MAX_REPORT_CHARS', 'MIN_FINGERPRINT_HEX', 'NONCE_BYTES', 'PATH_ENROL', 'PATH_LISTS', 'PATH_LOG', 'REPORT_PARAM', 'ROW_FIELDS', 'TIME_WINDOW_S', 'UNKNOWN_BOOT', 'Ack', 'Alarm', 'AuthorityPin', 'Batch', 'DeviceMaterial', 'EnrolmentQR', 'Freshness', 'GateReport', 'LoggedRow', 'Mono', 'Parked', 'PassageRow', 'ProvisionError', 'RowKind', 'Seq', 'SignedRequest', 'Strict', 'Time', 'b64', 'bounded_text', 'column_sql', 'conflict', 'decode_report', 'device_id', 'encode_batch', 'encode_report', 'etag', 'fingerprint', 'hub_time', 'inflate', 'make_bundle', 'open_bundle', 'parse_enrolment_qr', 'parse_signature_headers', 'read_freshness', 'row_json', 'show_fingerprint', 'sign_request', 'signed_message', 'take_within', 'unb64']

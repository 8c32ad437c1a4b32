"""Provisioning by the device's own camera: an enrolment QR, then the online flow."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from gatekeeper.gate.provision.install import (
    Progress,
    Provisioned,
    check_free,
    user_ids,
)
from gatekeeper.gate.provision.online import provision_online
from gatekeeper.wire import (
    ENROL_QR_PREFIX,
    AuthorityPin,
    EnrolmentQR,
    ProvisionError,
    parse_enrolment_qr,
    show_fingerprint,
)

if TYPE_CHECKING:  # the scan stack loads only for --scan
    from gatekeeper.scan import FrameSource


def provision_scan(source: FrameSource, directory: Path, overrides: dict | None = None, *, timeout: float = 300.0,
                   authority: AuthorityPin | None = None, trust_on_first_use: bool = False, force: bool = False,
                   selftest: bool = True, owner: str | None = None,
                   progress: Progress | None = None) -> Provisioned:
    """First boot: read frames from ``source`` (a :class:`~gatekeeper.scan.FrameSource`,
    unopened) until one holds a valid enrolment QR, then enrol with it as :func:`provision_online`.

    The QR carries its own authority key and is signed by that same key, so its signature proves
    only that it was not edited, not whose it is: ``authority`` (the site's fingerprint, typed by
    the installer) must match it. Without a pin, ``trust_on_first_use`` accepts whichever
    authority the first valid QR names (whoever shows a QR first owns the gate); neither given is
    a ProvisionError. QRs that are not enrolment QRs (a resident's pass), fail their signature or
    name another authority are skipped. ProvisionError when none is seen within ``timeout``
    seconds or before a finite source ends.
    """
    from gatekeeper.scan import default_decoder
    say = progress or (lambda _: None)
    if authority is None and not trust_on_first_use:
        raise ProvisionError("an enrolment QR names its own authority: give the site's fingerprint "
                             "('gatekeeper hub fingerprint' on the admin's machine) with --authority-fingerprint, "
                             "or accept whichever QR is shown first with --trust-on-first-use. Nothing was written.")
    directory = Path(directory)
    check_free(directory, force)
    user_ids(owner)
    decoder = default_decoder()
    deadline = time.monotonic() + timeout
    found: EnrolmentQR | None = None
    last_refusal = ""
    say("looking for an enrolment QR: hold it in front of the camera")
    try:
        source.open()
    except (OSError, RuntimeError, ValueError) as e:
        raise ProvisionError(f"cannot open the camera to look for the enrolment QR: {e}. Nothing was written.") \
            from None
    try:
        while found is None and time.monotonic() < deadline:
            frame = source.read()
            if frame is None:
                if source.finite:
                    break
                continue
            for code in decoder.decode(frame.image):
                if not code.payload.startswith(ENROL_QR_PREFIX.encode()):
                    continue
                try:
                    qr = parse_enrolment_qr(code.payload)
                    if authority is not None:
                        authority.check(qr.authority, "the enrolment QR")
                    found = qr
                    break
                except ProvisionError as e:
                    last_refusal = str(e)
    finally:
        source.close()
    if found is None:
        why = f"; the last one seen was refused: {last_refusal}" if last_refusal else ""
        raise ProvisionError(f"no valid enrolment QR seen (waited up to {timeout:.0f} s){why}. Show the QR from "
                             "'gatekeeper hub enrol-qr' to the camera, close and steady. Nothing was written.")
    trusted = "pinned" if authority is not None else "trusted on first use"
    say(f"read an enrolment QR for gate {found.gate_id!r} at {found.hub_url} "
        f"(authority {show_fingerprint(found.authority)}, {trusted})")
    return provision_online(found.hub_url, found.token, found.gate_id, directory, overrides,
                            authority=AuthorityPin.of_key(found.authority, "the enrolment QR"), force=force,
                            selftest=selftest, owner=owner, progress=progress)



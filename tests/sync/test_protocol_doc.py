"""docs/sync-protocol.md against the code: its endpoints, error codes and worked examples."""

from __future__ import annotations

import json
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gatekeeper.hub.app import app_from
from gatekeeper.verify import PrivateKey
from gatekeeper.wire.batch import Batch
from gatekeeper.wire.protocol import b64, sign_request, signed_message

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "sync-protocol.md").read_text()


def section(title: str) -> str:
    start = DOC.index(f"## {title}\n")
    end = DOC.find("\n## ", start + 1)
    return DOC[start:end if end > 0 else None]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```(?:json)?\n(.*?)```", text, re.DOTALL)


def test_endpoint_table_is_the_apps_routes(tmp_path):
    documented = set(re.findall(r"^\| `([A-Z]+)` \| `(/[^`]*)` \|", section("Endpoints"), re.MULTILINE))
    spec = app_from(str(tmp_path / "hub.db"), None).openapi()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert documented == routes


def test_error_table_is_every_refusal_in_the_code():
    raised = set()
    for src in [*(ROOT / "gatekeeper" / "hub").rglob("*.py"), *(ROOT / "gatekeeper" / "wire").rglob("*.py")]:
        raised |= {(int(s), c) for s, c in re.findall(r'RefusedError\((\d+), "([a-z_]+)"', src.read_text())}
    documented = set()
    for status, codes in re.findall(r"^\| ([\d, ]+) \| (`[^|]*`) \|", section("Error codes"), re.MULTILINE):
        documented |= {(int(s), c) for s in status.split(", ") for c in re.findall(r"`([a-z_]+)`", codes)}
    # 'http' is Starlette's own 404/405, not a RefusedError
    assert documented - {(404, "http"), (405, "http")} == raised


def test_worked_signing_example():
    text = section("Device identity and request signing")
    key = PrivateKey._wrap(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
    assert f"public key `{b64(key.public.raw)}`" in text and f"device id is `{key.public.kid.hex()}`" in text
    message, headers = code_blocks(text)[1:3]
    target = "/v1/lists?trust=1&revocations=32"
    nonce = b64(bytes(16))
    assert message.rstrip("\n").encode() == signed_message("GET", target, 1767225600, nonce, b"")
    sent = dict(line.split(": ") for line in headers.strip().splitlines())
    assert sent == sign_request(key, "GET", target, b"", 1767225600, nonce)


def test_batch_and_parked_examples_are_valid():
    blocks = [json.loads(b) for b in code_blocks(section("Passage-log upload: `POST /v1/log`"))
              if b.lstrip().startswith("{")]
    batch = Batch.model_validate(blocks[0])
    assert [r.seq for r in batch.rows] == [1, 2] and batch.last == 2
    parked = blocks[-1]
    assert Batch.model_validate({**blocks[0], "last": 11, "parked": [parked]}).parked[0].status == 422

"""Proof packs are redaction-safe: no payload contents in any artifact of any drill, and
credential-looking strings masked wherever they come from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from drills.drillfile.builtin import CATALOG, ORDER
from drills.drillfile.loader import load_drill, merge
from drills.executor.execute import run_drill
from drills.proofpack.redact import MASK, mask_credentials, without_payloads

CANARY = "payload-canary-93f1c2"  # not credential-looking: only structural redaction keeps it out
API_KEY = "sk-live-4f9a8b7c6d5e4f3a2b1c"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkcmlsbCJ9.c2lnbmF0dXJlLXNlY3JldA"
PASSWORD = "hunter2hunter2"
SECRETS = (CANARY, API_KEY, JWT, PASSWORD, "Ignore all previous instructions")

SECRET_PAYLOAD = {"sku": "INV-240", "quantity": 3, "note": CANARY, "apiKey": API_KEY,
                  "auth": f"Bearer {JWT}", "password": PASSWORD}


def with_secrets(name: str) -> dict[str, Any]:
    """A built-in drill with secret-looking payloads on a background route and a sent
    intent, and a credential in its title."""
    data = yaml.safe_load((CATALOG / f"{name}.yaml").read_text())
    data["scenario"] = str((CATALOG / data["scenario"]).resolve())
    data["title"] += f" (password={PASSWORD})"
    route = {"name": "secret route", "from": "partner-desk@northwind.beam.directory",
             "to": "warehouse@northwind.beam.directory", "intent": "inventory.check", "via": "ws",
             "rate": "2/min", "payload": SECRET_PAYLOAD}
    data["overrides"] = merge(data.get("overrides", {}), {"traffic": {"routes": [route]}})
    data.setdefault("steps", []).append(
        {"action": "send", "from": "partner-desk@northwind.beam.directory", "to": "warehouse@northwind.beam.directory",
         "intent": "inventory.check", "via": "bus", "count": 2, "every": "1s", "payload": SECRET_PAYLOAD,
         "at": "1s"})
    return data


@pytest.mark.parametrize("name", ORDER)
def test_no_artifact_of_any_drill_carries_a_payload_or_a_credential(name: str, tmp_path: Path):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(with_secrets(name), sort_keys=False))
    out = tmp_path / "out"
    run_drill(load_drill(path), out)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"result.json", "events.jsonl", "audit.jsonl", "journal.json", "report.md",
                                       "chart.png"}
    for file in files:
        content = file.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in content, f"{secret!r} in {file.relative_to(out)}"
    assert MASK in (out / "report.md").read_text()  # the title's password, masked


@pytest.mark.parametrize("text", [
    f"key {API_KEY} here", "AKIAIOSFODNN7EXAMPLE", "ghp_0123456789abcdefghijABCDEFGHIJ012345",
    "xoxb-123456789012-abcdefghij", JWT, f"Authorization: Bearer {JWT}", "password=hunter2hunter2",
    '"api_key": "abcd1234efgh"', "token: 9f8e7d6c5b4a",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
])
def test_credential_looking_strings_are_masked(text: str):
    masked = mask_credentials(text)
    assert MASK in masked
    for word in ("sk-live-4f9a", "AKIAIOSFODNN7", "ghp_0123", "xoxb-1234", "eyJhbGci", "hunter2", "abcd1234efgh",
                 "9f8e7d6c5b4a", "MIIEow"):
        assert word not in masked


@pytest.mark.parametrize("text", [
    "fire-drill-proof-9", "b2d9aa87-3a9c-4bf5-b392-d47513837b14", "critical-alert:network-error-rate",
    "rate_limit_per_min: 300", "trust_gate_pair", "Partner workflow breached the latency target",
    "error-hotspot-timeout", "sha256:57d6850e4d28ccf01ebc31de4663abaa03ee43f712b379cc86860a61eafd5e2f",
])
def test_ordinary_text_is_left_alone(text: str):
    assert mask_credentials(text) == text


def test_payloads_are_dropped_by_shape():
    document = {"scenario": {"traffic": {"routes": [{"payload": {"note": CANARY}}]},
                             "faults": [{"kind": "injection", "route": "r", "text": "Ignore it"},
                                        {"kind": "link", "text": "kept"}]},
                "payload": {}}
    assert without_payloads(document) == {
        "scenario": {"traffic": {"routes": [{"payload": "[payload not recorded]"}]},
                     "faults": [{"kind": "injection", "route": "r", "text": "[payload not recorded]"},
                                {"kind": "link", "text": "kept"}]},
        "payload": {}}

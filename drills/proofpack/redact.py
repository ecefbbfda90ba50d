"""Redaction of a drill's artifacts: proof packs are shared, so they never carry payload
contents, and anything that looks like a credential is masked.

Two passes. Documents that hold configuration (``result.json``, ``journal.json``) drop
payloads by shape (any ``payload`` value, the text of an ``injection`` fault) when the
drill runner writes them; then every text file in the run directory is scanned for credential-looking strings (API keys, tokens, JWTs, private
keys, ``password=...``) and those are masked in place.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from drills.runs.files import atomic_write_text

MASK = "[REDACTED]"
PAYLOAD_MASK = "[payload not recorded]"

_CREDENTIALS = re.compile(
    "|".join([
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        r"\b(?:sk|pk|rk)[-_](?:live|test|proj)?[-_]?[A-Za-z0-9]{12,}",
        r"\bAKIA[0-9A-Z]{16}\b",
        r"\bgh[pousr]_[A-Za-z0-9]{20,}",
        r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
        r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
        r"\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{8,}",
        r"\b(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)\b[\"']?\s*[:=]\s*[\"']?[^\s\"',}]{4,}",
    ]),
    re.IGNORECASE,
)
TEXT_SUFFIXES = (".json", ".jsonl", ".md", ".csv", ".ndjson", ".om", ".txt")


def mask_credentials(text: str) -> str:
    """``text`` with every credential-looking string replaced by ``[REDACTED]``."""
    return _CREDENTIALS.sub(MASK, text)


def without_payloads(document: Any) -> Any:
    """A copy of a JSON-ready document with payload contents removed by shape."""
    if isinstance(document, dict):
        cleaned = {key: PAYLOAD_MASK if key == "payload" and value else without_payloads(value)
                   for key, value in document.items()}
        if cleaned.get("kind") == "injection" and "text" in cleaned:
            cleaned["text"] = PAYLOAD_MASK
        return cleaned
    if isinstance(document, list):
        return [without_payloads(item) for item in document]
    return document


def redact_run(out: Path) -> None:
    """Mask credential-looking strings in every text artifact under ``out`` (atomically)."""
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name.endswith(TEXT_SUFFIXES):
            text = path.read_text(encoding="utf-8")
            masked = mask_credentials(text)
            if masked != text:
                atomic_write_text(path, masked)

"""Agent trust scores (beam-model §3.8), as far as they drive the trust gate and anomalies."""

from __future__ import annotations

from typing import Final

NEW_AGENT_TRUST: Final[float] = 0.3
DAY: Final[float] = 86400.0


def trust_score(*, flagged: bool, verified: bool, tier: str, seen_within_day: bool, age_days: float) -> float:
    """``calculateTrustScore``: 0 if flagged; else 0.3, +0.3 verified, +0.2 tier not basic,
    +0.2 seen in the last 24 h, +0.2 created at least 7 days ago; clamped, 2 decimals."""
    if flagged:
        return 0.0
    score = 0.3
    if verified:
        score += 0.3
    if tier != "basic":
        score += 0.2
    if seen_within_day:
        score += 0.2
    if age_days >= 7:
        score += 0.2
    return round(min(1.0, max(0.0, score)), 2)

"""The partner digest (beam-model §10, ``GET /admin/partner-digest?days=7&owner=``): the
open partner threads summed up for an operator, as JSON and as Markdown.

Metrics: ``totalThreads`` (requests not closed, of ``owner`` when given), ``ownedThreads``
and ``unownedThreads``, ``dueNow`` (a follow-up is due), ``upcomingMeetings`` (next meeting
within the next ``days``) and ``meetingsThisWeek`` (next meeting within the next 7 days).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Final

from simulator.operator.api import ApiModel
from simulator.operator.partners import PartnerRequest, attention_flags, is_follow_up_due

DAY: Final[float] = 86400.0
WEEK: Final[float] = 7 * DAY


class DigestThread(ApiModel):
    """One open partner thread as the digest lists it."""

    id: int
    company: str | None
    email: str
    stage: str
    owner: str | None
    next_action: str | None
    next_meeting_at: float | None
    reminder_at: float | None
    flags: tuple[str, ...]


class DigestMetrics(ApiModel):
    """The digest's six counts."""

    total_threads: int
    owned_threads: int
    due_now: int
    upcoming_meetings: int
    meetings_this_week: int
    unowned_threads: int


class Digest(ApiModel):
    """The digest at ``generated_at``; ``epoch`` (when known) turns virtual times into dates."""

    generated_at: float
    days: float
    owner: str | None
    epoch: datetime | None
    metrics: DigestMetrics
    due_now: list[DigestThread]
    upcoming: list[DigestThread]
    unowned: list[DigestThread]

    def to_json(self) -> dict[str, Any]:
        """The ``format=json`` body."""
        return self.view()

    def _when(self, seconds: float | None) -> str:
        if seconds is None:
            return "—"
        if self.epoch is None:
            return f"t={seconds:g}s"
        return (self.epoch + timedelta(seconds=seconds)).isoformat(timespec="seconds").replace("+00:00", "Z")

    def markdown(self) -> str:
        """The ``format=markdown`` body."""
        m = self.metrics
        scope = f" for {self.owner}" if self.owner else ""
        lines = [f"# Partner digest{scope}", "", f"Generated {self._when(self.generated_at)}, "
                 f"meetings looked ahead {self.days:g} days.", "",
                 "| metric | value |", "|---|---|",
                 f"| totalThreads | {m.total_threads} |", f"| ownedThreads | {m.owned_threads} |",
                 f"| dueNow | {m.due_now} |", f"| upcomingMeetings | {m.upcoming_meetings} |",
                 f"| meetingsThisWeek | {m.meetings_this_week} |", f"| unownedThreads | {m.unowned_threads} |"]
        sections = (("Due now", self.due_now), ("Upcoming meetings", self.upcoming), ("Unowned threads", self.unowned))
        for title, threads in sections:
            lines += ["", f"## {title}", ""]
            if not threads:
                lines.append("None.")
            for thread in threads:
                lines.append(f"- #{thread.id} {thread.company or thread.email} ({thread.stage}), owner "
                             f"{thread.owner or 'none'}, next action: {thread.next_action or 'none'}, "
                             f"next meeting {self._when(thread.next_meeting_at)}, "
                             f"reminder {self._when(thread.reminder_at)}")
        return "\n".join(lines) + "\n"


def build_digest(requests: list[PartnerRequest], now: float, days: float = 7.0, owner: str | None = None,
                 epoch: datetime | None = None) -> Digest:
    """Sum up the requests that are not closed (of ``owner`` when given) at ``now``."""
    owner = (owner.strip() or None) if owner is not None else None
    open_threads = [r for r in requests if r.status != "closed" and (owner is None or r.owner == owner)]

    def thread(request: PartnerRequest) -> DigestThread:
        return DigestThread(id=request.id, company=request.company, email=request.email, stage=request.status,
                            owner=request.owner, next_action=request.next_action,
                            next_meeting_at=request.next_meeting_at, reminder_at=request.reminder_at,
                            flags=tuple(attention_flags(request, now)))

    def meeting_within(request: PartnerRequest, horizon: float) -> bool:
        return request.next_meeting_at is not None and now <= request.next_meeting_at <= now + horizon

    due = [r for r in open_threads if is_follow_up_due(r, now)]
    upcoming = sorted((r for r in open_threads if meeting_within(r, days * DAY)),
                      key=lambda r: (r.next_meeting_at, r.id))
    unowned = [r for r in open_threads if not r.owner]
    metrics = DigestMetrics(total_threads=len(open_threads), owned_threads=len(open_threads) - len(unowned),
                            due_now=len(due), upcoming_meetings=len(upcoming),
                            meetings_this_week=sum(1 for r in open_threads if meeting_within(r, WEEK)),
                            unowned_threads=len(unowned))
    return Digest(generated_at=now, days=days, owner=owner, epoch=epoch, metrics=metrics,
                  due_now=[thread(r) for r in due], upcoming=[thread(r) for r in upcoming],
                  unowned=[thread(r) for r in unowned])

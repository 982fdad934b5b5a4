"""Programme results: what a routine, posture-screen or paced-breathing session
measured (`server.programmes` summaries, as JSON), one `ProgrammeResult` per session
with its rows: a routine's sections, a posture screen's figures per view (and
combined, with the level and the threshold used), a breathing session's breaths."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.store.models import (
    PostureFigure,
    ProgrammeResult,
    RecordedBreath,
    RoutineSection,
    utcnow,
)
from server.store.repository._common import added, finite, utc

__all__ = [
    "PROGRAMME_KINDS",
    "RESULT_SCHEMA",
    "add_programme_result",
    "list_programme_results",
    "programme_result_of",
]

PROGRAMME_KINDS: Final[tuple[str, ...]] = ("routine", "posture", "breathing")
RESULT_SCHEMA: Final[int] = 1
"""Version of `ProgrammeResult.details` (the summary as the kiosk got it)."""


def _number(value: Any) -> float | None:
    return finite(value) if isinstance(value, int | float) else None


def _sections(summary: Mapping[str, Any]) -> list[RoutineSection]:
    return [
        RoutineSection(
            position=int(s["index"]),
            section_id=str(s["section_id"]),
            name=dict(s.get("name") or {}),
            status=str(s["status"]),
            rounds=int(s["rounds"]),
            target_rounds=int(s["target_rounds"]),
            score=_number(s.get("score")),
            round_scores=[_number(v) for v in s.get("round_scores") or []],
            improvement_id=s.get("improvement_id"),
            improvement=s.get("improvement"),
        )
        for s in summary.get("sections") or []
    ]


def _figures(summary: Mapping[str, Any]) -> list[PostureFigure]:
    result = summary.get("result")
    if not result:
        return []
    rows: list[PostureFigure] = []
    for view in result.get("views") or []:
        window = view.get("window_uncertainty") or {}
        for name, f in (view.get("figures") or {}).items():
            rows.append(
                PostureFigure(
                    view=str(view["view"]),
                    figure=name,
                    value=float(f["value"]),
                    uncertainty=float(f["uncertainty"]),
                    unit=str(f["unit"]),
                    window_uncertainty=_number(window.get(name)),
                )
            )
    findings = {
        f["figure"]: f for f in (summary.get("assessment") or {}).get("findings") or []
    }
    for name, f in (result.get("combined") or {}).items():
        finding = findings.get(name)
        threshold = None if finding is None else finding["threshold"]
        rows.append(
            PostureFigure(
                view="combined",
                figure=name,
                value=float(f["value"]),
                uncertainty=float(f["uncertainty"]),
                unit=str(f["unit"]),
                level=None if finding is None else str(finding["level"]),
                threshold=None if threshold is None else threshold["refer_above"],
                threshold_unit=None if threshold is None else threshold["unit"],
                threshold_placeholder=None
                if threshold is None
                else bool(threshold["placeholder"]),
                threshold_source=None if threshold is None else threshold["source"],
            )
        )
    return rows


def _breaths(summary: Mapping[str, Any]) -> list[RecordedBreath]:
    rhythm = summary.get("rhythm") or {}
    return [
        RecordedBreath(
            count=i + 1,
            start_ms=float(b["start_ms"]),
            top_ms=float(b["top_ms"]),
            inhale_s=float(b["inhale_s"]),
            exhale_s=float(b["exhale_s"]),
            top_hold_s=float(b["top_hold_s"]),
            period_s=_number(b.get("period_s")),
            swing=float(b["swing"]),
        )
        for i, b in enumerate(rhythm.get("breaths") or [])
    ]


def add_programme_result(
    db: Session,
    *,
    session_id: int,
    summary: Mapping[str, Any],
    resident_id: int | None = None,
    taken_at: datetime | None = None,
) -> ProgrammeResult:
    """Store a programme session's summary (its JSON: `kind` "routine", "posture"
    or "breathing", `programme_id`, `completed`) with its rows, replacing what the
    session had stored before.

    Raises:
        ValueError: an unknown `kind`.
    """
    kind = summary.get("kind")
    if kind not in PROGRAMME_KINDS:
        raise ValueError(
            f"expected a programme summary of kind {', '.join(PROGRAMME_KINDS)}, "
            f"got {kind!r}"
        )
    db.execute(delete(ProgrammeResult).where(ProgrammeResult.session_id == session_id))
    return added(
        db,
        ProgrammeResult(
            session_id=session_id,
            resident_id=resident_id,
            kind=kind,
            programme_id=str(summary["programme_id"]),
            completed=bool(summary["completed"]),
            score=_number(summary.get("score")),
            details={"schema": RESULT_SCHEMA, **summary},
            taken_at=utc(taken_at) or utcnow(),
            sections=_sections(summary) if kind == "routine" else [],
            figures=_figures(summary) if kind == "posture" else [],
            breaths=_breaths(summary) if kind == "breathing" else [],
        ),
    )


def programme_result_of(db: Session, session_id: int) -> ProgrammeResult | None:
    """The programme result of a session, if it ran a programme."""
    return db.scalar(
        select(ProgrammeResult).where(ProgrammeResult.session_id == session_id)
    )


def list_programme_results(
    db: Session, resident_id: int, kind: str | None = None
) -> list[ProgrammeResult]:
    """A resident's programme results (of one kind), oldest first."""
    query = select(ProgrammeResult).where(ProgrammeResult.resident_id == resident_id)
    if kind is not None:
        query = query.where(ProgrammeResult.kind == kind)
    return list(
        db.scalars(query.order_by(ProgrammeResult.taken_at, ProgrammeResult.id))
    )

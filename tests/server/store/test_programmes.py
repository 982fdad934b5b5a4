"""Programme results in the records (SQLite and PostgreSQL): a routine's sections, a
posture screen's figures per view with the thresholds used, a breathing session's
breaths; replaced when stored again; gone with the resident; stored by the recorder
when a programme session over /ws ends, for signed-in and anonymous people alike."""

from __future__ import annotations

import math
from typing import Any

import pytest
from starlette.testclient import TestClient

from exercises.posture import DEFAULT_THRESHOLDS, FIGURES
from server.app import create_app
from server.programmes import POSTURE_ID
from server.schemas import encode_frame
from server.settings import Settings
from server.store import DatabaseRecorder, Store, repository
from server.store.models import PostureFigure, ProgrammeResult, RoutineSection
from tests.server.conftest import ScriptedBackend, jpeg_bytes
from tests.server.programme_scripts import posture_frames, scripted, summaries
from tests.server.store.helpers import seed_centre

THRESHOLDS = {t.figure: t for t in DEFAULT_THRESHOLDS}


def _store(records: Store, kind: str, ids: dict[str, Any]) -> int:
    with records.begin() as db:
        session = repository.start_session(
            db,
            exercise_id=summaries()[kind]["programme_id"],
            language="en",
            resident_id=ids["resident_id"],
            centre_id=ids["centre_id"],
        )
        repository.add_programme_result(
            db,
            session_id=session.id,
            resident_id=ids["resident_id"],
            summary=summaries()[kind],
        )
        return int(session.id)


def test_a_routine_keeps_every_section(store: Store) -> None:
    ids = seed_centre(store)
    sid = _store(store, "routine", ids)
    summary = summaries()["routine"]
    with store.session() as db:
        result = repository.programme_result_of(db, sid)
        assert result is not None
        assert (result.kind, result.programme_id) == ("routine", "baduanjin")
        assert result.completed and result.score == summary["score"]
        assert result.details["schema"] == 1
        assert result.details["sections"] == summary["sections"]
        rows = [
            (s.position, s.section_id, s.status, s.rounds, s.target_rounds)
            for s in result.sections
        ]
        assert rows == [
            (s["index"], s["section_id"], s["status"], s["rounds"], s["target_rounds"])
            for s in summary["sections"]
        ]
        assert rows[:2] == [
            (0, "preparation", "done", 1, 1),
            (1, "hold_up_heavens", "done", 2, 6),
        ]
        first = result.sections[1]
        assert first.score == summary["sections"][1]["score"]
        assert first.round_scores == summary["sections"][1]["round_scores"]
        assert first.name["zh-CN"] == "第一式 两手托天理三焦"
        assert result.sections[2].score is None  # not seen: no score, not NaN
        assert result.figures == [] and result.breaths == []


def test_a_posture_screen_keeps_figures_uncertainty_and_thresholds(
    store: Store,
) -> None:
    ids = seed_centre(store)
    sid = _store(store, "posture", ids)
    summary = summaries()["posture"]
    with store.session() as db:
        result = repository.programme_result_of(db, sid)
        assert result is not None and result.kind == "posture"
        assert result.programme_id == POSTURE_ID and result.score is None
        by_view: dict[str, dict[str, PostureFigure]] = {}
        for f in result.figures:
            by_view.setdefault(f.view, {})[f.figure] = f
        assert set(by_view) == {"front", "back", "combined"}
        assert all(set(v) == set(FIGURES) for v in by_view.values())
        for view in summary["result"]["views"]:
            for name, figure in view["figures"].items():
                row = by_view[view["view"]][name]
                assert (row.value, row.uncertainty, row.unit) == (
                    figure["value"],
                    figure["uncertainty"],
                    figure["unit"],
                )
                assert row.window_uncertainty == view["window_uncertainty"][name]
                assert row.level is None and row.threshold is None
        tilt = by_view["combined"]["shoulder_tilt_deg"]
        assert tilt.value == pytest.approx(3.0, abs=1e-3) and tilt.unit == "deg"
        assert tilt.uncertainty > 0 and tilt.level == "borderline"
        for name, row in by_view["combined"].items():
            threshold = THRESHOLDS.get(name)
            if threshold is None:  # the height difference: reported, not read
                assert row.threshold is None and row.level is None
                continue
            assert (row.threshold, row.threshold_unit) == (
                threshold.refer_above,
                threshold.unit,
            )
            assert row.threshold_placeholder is True
            assert row.threshold_source == threshold.source
        assert result.details["repeatability"]["shoulder_tilt_deg"] > 0
        assert result.details["result"]["stature_cm"] == 160.0


def test_a_breathing_session_keeps_its_breaths_and_rhythm(store: Store) -> None:
    ids = seed_centre(store)
    sid = _store(store, "breathing", ids)
    rhythm = summaries()["breathing"]["rhythm"]
    with store.session() as db:
        result = repository.programme_result_of(db, sid)
        assert result is not None and result.kind == "breathing"
        assert result.completed
        assert [b.count for b in result.breaths] == [1, 2]
        for row, breath in zip(result.breaths, rhythm["breaths"], strict=True):
            assert row.inhale_s == breath["inhale_s"]
            assert row.exhale_s == breath["exhale_s"]
            assert row.top_ms == breath["top_ms"]
            assert row.period_s == breath["period_s"]
        assert result.breaths[-1].period_s is None  # the last has no next breath
        assert result.details["rhythm"]["period_s"] == rhythm["period_s"]
        assert result.details["inhale_s"] == 2.0


def test_storing_again_replaces_and_unknown_kinds_are_refused(store: Store) -> None:
    ids = seed_centre(store)
    sid = _store(store, "routine", ids)
    with store.begin() as db:
        again = dict(summaries()["routine"], completed=False)
        repository.add_programme_result(db, session_id=sid, summary=again)
    with store.session() as db:
        results = list(db.query(ProgrammeResult).filter_by(session_id=sid))
        assert len(results) == 1 and not results[0].completed
        assert db.query(RoutineSection).count() == len(again["sections"])
    with store.begin() as db, pytest.raises(ValueError, match="got 'squat'"):
        repository.add_programme_result(db, session_id=sid, summary={"kind": "squat"})


def test_results_go_with_the_resident(store: Store) -> None:
    gone = seed_centre(store, "Riverside")
    kept = seed_centre(store, "Hillside")
    for kind in ("routine", "posture", "breathing"):
        _store(store, kind, gone)
    _store(store, "posture", kept)
    with store.session() as db:
        listed = repository.list_programme_results(db, gone["resident_id"])
        assert [r.kind for r in listed] == ["routine", "posture", "breathing"]
        only = repository.list_programme_results(db, gone["resident_id"], "posture")
        assert [r.kind for r in only] == ["posture"]
    with store.begin() as db:
        counts = repository.delete_resident(db, gone["resident_id"])
    assert counts is not None and counts["programme_results"] == 3
    with store.session() as db:
        assert repository.list_programme_results(db, gone["resident_id"]) == []
        left = db.query(ProgrammeResult).all()
        assert [r.resident_id for r in left] == [kept["resident_id"]]
        assert db.query(RoutineSection).count() == 0
        assert db.query(PostureFigure).count() == 3 * len(FIGURES)


@pytest.mark.parametrize("signed_in", [True, False], ids=["resident", "anonymous"])
def test_the_recorder_stores_a_posture_screen_over_the_socket(
    store: Store,
    db_url: str,
    signed_in: bool,
) -> None:
    ids = seed_centre(store)
    frames = posture_frames(4 / 3)
    app_store = Store(db_url)
    app = create_app(
        Settings(stats_every=1000),
        backend_factory=lambda: ScriptedBackend(scripted(frames)),
        recorder=DatabaseRecorder(app_store),
        store=app_store,
    )
    open_message: dict[str, Any] = {"type": "open", "programme": POSTURE_ID}
    if signed_in:
        open_message["resident"] = ids["member_code"]
    with TestClient(app) as client, client.websocket_connect("/ws") as ws:
        ws.send_json(open_message)
        live_id = ws.receive_json()["session_id"]
        image = jpeg_bytes(64, 48)
        for f in frames:
            ws.send_bytes(encode_frame(int(f.timestamp_ms), image))
            while ws.receive_json()["type"] != "pose":
                pass
        ws.send_json({"type": "close"})
        while ws.receive_json()["type"] != "summary":
            pass
        client.app.state.runtime.recorder.flush(10)  # type: ignore[attr-defined]
    with store.session() as db:
        session = repository.find_session_by_live_id(db, live_id)
        assert session is not None and session.exercise_id == POSTURE_ID
        result = repository.programme_result_of(db, session.id)
        assert result is not None and result.completed
        assert result.resident_id == (ids["resident_id"] if signed_in else None)
        combined = {f.figure: f for f in result.figures if f.view == "combined"}
        assert combined["shoulder_tilt_deg"].value == pytest.approx(3.0, abs=1e-3)
        assert not math.isnan(combined["pelvic_tilt_deg"].uncertainty)

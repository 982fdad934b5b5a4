"""Every exercises/templates/*.toml: loads, resolves, is bilingual, and its own
reference motion (synthetic, from tests.factories) is counted once and scores high."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path

import pytest

from exercises.events import (
    CueIssued,
    Event,
    HoldCompleted,
    LocalizedText,
    MoveCompleted,
    RepCompleted,
)
from exercises.metrics import METRICS
from exercises.scoring import phase_span
from exercises.session import Session
from exercises.spec import (
    TEMPLATES_DIR,
    ExerciseSpec,
    builtin_specs,
    dump_spec,
    load_spec,
    spec_from_dict,
)
from tests.factories import (
    frames_from_channels,
    hold_frames,
    rep_frames,
    sequence_frames,
)
from vision.types import PoseFrame, Skeleton

PATHS = sorted(TEMPLATES_DIR.glob("*.toml"))
OWN_SCORE_MIN = 85.0
"""A rep that follows the template's reference must score at least this."""
OTHER_MARGIN = 15.0
"""A motion of another body region must score this much lower than the real thing."""
ROM_TOL_DEG = 6.0
"""Smoothing and sampling may shave a few degrees off a synthetic rep's range."""
CJK = re.compile(r"[\u4e00-\u9fff]")


def ids(path: Path) -> str:
    return path.stem


@pytest.fixture(params=PATHS, ids=ids)
def spec(request: pytest.FixtureRequest) -> ExerciseSpec:
    return load_spec(request.param)


def feed(
    spec: ExerciseSpec, frames: list[PoseFrame], *, elder: bool = False
) -> list[Event]:
    session = Session(spec, elder_mode=elder)
    return [e for f in frames for e in session.feed(f)]


def reps_of(events: list[Event]) -> list[RepCompleted]:
    return [e for e in events if isinstance(e, RepCompleted)]


def test_there_are_enough_templates() -> None:
    specs = builtin_specs()
    assert len(PATHS) >= 17
    assert sum(s.kind == "sequence" for s in specs.values()) >= 1
    assert sum(s.kind == "hold" for s in specs.values()) >= 2
    for required in (
        "squat", "lunge", "wall_push_up", "bicep_curl", "front_raise", "shoulder_press",
        "lateral_raise", "jumping_jack", "standing_march", "heel_raise", "plank",
        "sit_to_stand", "seated_knee_extension", "seated_march", "arm_raise",
        "standing_hip_abduction", "single_leg_stance", "push_up", "sit_up",
        "baduanjin_1",
    ):  # fmt: skip
        assert required in specs


def test_loads_with_its_file_name_as_id(spec: ExerciseSpec) -> None:
    assert Path(spec.source).stem == spec.id
    assert spec.schema == 1


def test_names_resolve_on_blazepose(spec: ExerciseSpec) -> None:
    sk = Skeleton.BLAZEPOSE_33
    for a in spec.angles:
        for side in ("left", "right"):
            for name in a.resolve(side):
                assert sk.has(name), (a.name, name)
    for name in spec.required_joints:
        assert sk.has(name) or (sk.has(f"left_{name}") and sk.has(f"right_{name}"))
    for name in spec.metric_names:
        assert name in METRICS
    angle_names = {a.name for a in spec.angles}
    for rule in spec.rules:
        assert rule.key in METRICS or rule.key in angle_names
    Session(spec)  # resolves every joint for the live skeleton


def _texts(spec: ExerciseSpec) -> list[LocalizedText]:
    texts = [spec.name, spec.description, spec.instructions]
    for r in spec.rules:
        texts += [t for t in (r.text, r.firm, r.gentle) if t is not None]
    texts += [m.name for m in spec.moves]
    if spec.partial is not None:
        texts.append(spec.partial.cue)
    return texts


def test_every_text_is_in_english_and_chinese(spec: ExerciseSpec) -> None:
    for text in _texts(spec):
        assert set(text) == {"en", "zh-CN"}
        assert text["en"].strip() and not CJK.search(text["en"])
        assert CJK.search(text["zh-CN"]), text


def test_has_form_rules_and_a_pace(spec: ExerciseSpec) -> None:
    assert len(spec.rules) >= 2
    assert spec.pace_s > 0
    severities = {r.severity for r in spec.rules}
    assert severities, spec.id


def test_reference_passes_through_the_phases(spec: ExerciseSpec) -> None:
    phases = spec.phases_for(False)
    if spec.kind == "reps":
        assert spec.reference is not None
        assert 11 <= len(spec.reference.t) <= 21
        span = phase_span(spec.reference, [phases[p] for p in spec.cycle])
        assert span is not None
        assert 0.0 <= span[0] < span[1] <= 1.0
        assert span[1] - span[0] >= 0.1
        elder = spec.phases_for(True)
        assert phase_span(spec.reference, [elder[p] for p in spec.cycle]) is not None
    elif spec.kind == "sequence":
        for move in spec.moves:
            assert 11 <= len(move.reference.t) <= 21
            assert (
                phase_span(move.reference, [phases[move.start], phases[move.end]])
                is not None
            )
    else:
        assert spec.hold is not None and spec.hold.target
        assert spec.hold.target_s > 0


def test_dump_round_trip(spec: ExerciseSpec) -> None:
    assert spec_from_dict(tomllib.loads(dump_spec(spec)), source="<dump>") == spec


@cache
def _own_frames(exercise_id: str) -> tuple[PoseFrame, ...]:
    spec = builtin_specs()[exercise_id]
    if spec.kind == "reps":
        return tuple(rep_frames(spec, reps=1))
    if spec.kind == "sequence":
        return tuple(sequence_frames(spec, rounds=1))
    assert spec.hold is not None
    return tuple(hold_frames(spec, seconds=spec.hold.target_s + 1.0))


def test_own_motion_counts_once_and_scores_high(spec: ExerciseSpec) -> None:
    events = feed(spec, list(_own_frames(spec.id)))
    if spec.kind == "hold":
        done = [e for e in events if isinstance(e, HoldCompleted)]
        assert len(done) == 1
        assert done[0].score >= OWN_SCORE_MIN
        return
    reps = reps_of(events)
    assert [r.count for r in reps] == [1]
    assert not reps[0].partial
    assert reps[0].score >= OWN_SCORE_MIN
    assert "slow_down" not in reps[0].cue_ids
    ref = spec.reference if spec.kind == "reps" else None
    if ref is not None and spec.cycle[0] == spec.cycle[-1]:
        # A rep that returns to its start spans the reference's whole excursion (a
        # one-way cycle such as sit -> stand is counted on arrival, before the end).
        for name, row in zip(ref.channels, ref.values, strict=True):
            if name in reps[0].range_of_motion_deg and max(row) - min(row) > 10:
                expected = max(row) - min(row)
                got = reps[0].range_of_motion_deg[name]
                assert got == pytest.approx(expected, abs=ROM_TOL_DEG), name
    if spec.kind == "sequence":
        moves = [e for e in events if isinstance(e, MoveCompleted)]
        assert [m.move_id for m in moves] == [m.id for m in spec.moves]
        assert all(m.score >= OWN_SCORE_MIN for m in moves)


def test_noisy_reps_count_exactly(spec: ExerciseSpec) -> None:
    if spec.kind != "reps":
        pytest.skip("reps templates only")
    frames = rep_frames(spec, reps=3, noise=0.004, seed=7)
    reps = reps_of(feed(spec, frames))
    assert [r.count for r in reps] == [1, 2, 3]
    assert min(r.score for r in reps) >= OWN_SCORE_MIN - 10


def test_elder_pace_reps_count_without_rushing_cues(spec: ExerciseSpec) -> None:
    if spec.kind != "reps":
        pytest.skip("reps templates only")
    pace = spec.elder.pace_s or spec.pace_s * 1.5
    events = feed(spec, rep_frames(spec, reps=2, duration_s=pace), elder=True)
    assert [r.count for r in reps_of(events)] == [1, 2]
    assert not [
        e for e in events if isinstance(e, CueIssued) and e.cue_id == "slow_down"
    ]


def test_standing_still_counts_nothing(spec: ExerciseSpec) -> None:
    if spec.kind == "hold":
        pytest.skip("holds have no reps")
    if spec.kind == "reps":
        frames = rep_frames(spec, reps=1, depth=0.0, noise=0.004)
    else:  # the first move's start position, held
        start = {
            c: spec.moves[0].reference.at(c, 0.0)
            for c in spec.moves[0].reference.channels
        }
        frames = frames_from_channels(spec, [start] * 150, noise=0.004)
    events = feed(spec, frames)
    assert reps_of(events) == []
    assert not [e for e in events if isinstance(e, MoveCompleted)]


def _region(spec: ExerciseSpec) -> str:
    """ "arms" or "legs": which body part the template's counting reads."""
    keys = {c.key for p in spec.phases for c in p.conditions}
    joints: set[str] = set()
    for k in keys:
        if k in METRICS:
            joints |= set(METRICS[k].joints)
        else:
            joints.add(spec.angle(k).joints[1].removeprefix("other_"))
    return "arms" if joints & {"elbow", "wrist"} or joints == {"shoulder"} else "legs"


def test_another_body_regions_motion_scores_lower(spec: ExerciseSpec) -> None:
    if spec.kind != "reps":
        pytest.skip("reps templates only")
    own = reps_of(feed(spec, list(_own_frames(spec.id))))[0].score
    others = [
        s
        for s in builtin_specs().values()
        if s.kind == "reps" and _region(s) != _region(spec)
    ]
    assert others
    for other in others:
        for rep in reps_of(feed(spec, list(_own_frames(other.id)))):
            assert rep.partial or rep.score <= own - OTHER_MARGIN, (other.id, rep.score)


@pytest.mark.parametrize(
    ("exercise_id", "other_id"),
    [
        pytest.param("bicep_curl", "lateral_raise", id="curl-vs-lateral-raise"),
        pytest.param("squat", "heel_raise", id="squat-vs-heel-raise"),
        pytest.param("shoulder_press", "bicep_curl", id="press-vs-curl"),
        pytest.param("sit_to_stand", "standing_march", id="sit-to-stand-vs-march"),
    ],
)
def test_a_different_exercise_is_not_counted_as_this_one(
    exercise_id: str, other_id: str
) -> None:
    spec = builtin_specs()[exercise_id]
    assert reps_of(feed(spec, list(_own_frames(other_id)))) == []

"""Synthetic people doing the centre's programmes, as BlazePose-33 frames a scripted
backend can return: a short Baduanjin (built from the routine's own key poses), a
posture screen (front, a turn, back) and paced breathing (arm raises at the cued
pace), with short programmes to match."""

from __future__ import annotations

import bisect
import dataclasses
import functools
import tomllib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from exercises.breathing.programme import (
    PROGRAMMES_DIR,
    BreathingProgramme,
    programme_from_dict,
)
from exercises.routine import RoutineSpec, get_routine
from tests.exercises.breathing.signals import arm_frames, breathing_signal
from tests.exercises.posture.factories import standing_frames
from tests.routine_performance import Part, perform
from vision.types import PoseFrame, Skeleton

__all__ = [
    "BREATHS",
    "POSTURE_END_MS",
    "ROUTINE_PLAN",
    "STEP_MS",
    "Script",
    "breathing_frames",
    "posture_frames",
    "routine_frames",
    "run_live",
    "scripted",
    "short_breathing",
    "short_routine",
    "summaries",
    "to_blazepose",
    "with_aspect",
]

STEP_MS = 100
ROUTINE_PLAN = (Part("preparation", 1), Part("hold_up_heavens", 2))
"""A performance of the preparation and two rounds of section one."""
BREATHS = [(2.0, 0.0, 4.0, 0.0)] * 2  # (rise, top hold, fall, rest) s: the cued pace
POSTURE_END_MS = 3100

Script = Callable[[int], PoseFrame]
"""timestamp_ms -> the person's frame at that time."""


def with_aspect(frames: Sequence[PoseFrame], aspect: float) -> list[PoseFrame]:
    """`frames` stamped with their image's aspect, as the server's decoder stamps
    them (the factories build the coordinates for it but leave the stamp at 1)."""
    return [dataclasses.replace(f, aspect_wh=float(aspect)) for f in frames]


def to_blazepose(frame: PoseFrame) -> PoseFrame:
    """A frame of another skeleton as BlazePose-33 (joints by name; the rest
    missing)."""
    sk = Skeleton.BLAZEPOSE_33
    xyz = np.full((sk.num_joints, 3), np.nan, np.float32)
    vis = np.zeros(sk.num_joints, np.float32)
    for i, name in enumerate(frame.skeleton.joint_names):
        if sk.has(name):
            xyz[sk.index(name)] = frame.xyz[i]
            vis[sk.index(name)] = frame.visibility[i]
    return PoseFrame(xyz, vis, frame.timestamp_ms, sk, aspect_wh=frame.aspect_wh)


def routine_frames(
    aspect: float, plan: Sequence[Part] = ROUTINE_PLAN
) -> list[PoseFrame]:
    """The Baduanjin's `plan` performed at the standard pace, 10 fps, as BlazePose
    frames in a picture of `aspect`."""
    frames, _ = perform(
        get_routine("baduanjin"), plan, fps=1000 / STEP_MS, aspect=aspect
    )
    return with_aspect([to_blazepose(f) for f in frames], aspect)


def posture_frames(aspect: float) -> list[PoseFrame]:
    """Front (shoulders tilted 3 deg, pelvis -2 deg) from 300 ms, a turn, then the
    back: the screen completes at 3000 ms (tests/exercises/posture/test_screen.py)."""
    frames = [PoseFrame.missing(t) for t in (0, 100, 200)]
    for start, duration, kw in (
        (300, 1100, {"shoulder_tilt_deg": 3.0, "pelvic_tilt_deg": -2.0}),
        (1400, 600, {"view": "side"}),
        (2000, 1100, {"view": "back", "shoulder_tilt_deg": 3.0}),
    ):
        frames += standing_frames(
            start, duration, step_ms=STEP_MS, aspect_wh=aspect, **kw
        )
    return with_aspect(frames, aspect)


def short_breathing(**changes: object) -> BreathingProgramme:
    """Pursed-lip breathing, 2 s in, 4 s out, two breaths after a 2 s lead-in."""
    doc = tomllib.loads((PROGRAMMES_DIR / "pursed_lip_breathing.toml").read_text())
    doc.update({"cycles": 2, "lead_in_s": 2.0, **changes})
    return programme_from_dict(doc)


def breathing_frames(aspect: float) -> list[PoseFrame]:
    """Arms raised and lowered exactly at `short_breathing`'s pace."""
    times, values = breathing_signal(BREATHS, lead_s=2.0, tail_s=4.0, dt_s=0.1)
    return with_aspect(arm_frames(times, values, aspect=aspect), aspect)


def short_routine(
    routine: RoutineSpec, section_ids: Sequence[str], rounds: int
) -> RoutineSpec:
    """`routine` cut to `section_ids`, each `rounds` rounds (quick kiosk tests)."""
    sections = tuple(
        dataclasses.replace(routine.section(s), rounds=rounds) for s in section_ids
    )
    return dataclasses.replace(routine, id=f"{routine.id}_short", sections=sections)


def scripted(frames: Sequence[PoseFrame]) -> Callable[..., list[PoseFrame]]:
    """A `ScriptedBackend` script playing `frames` by time: the last frame at or
    before the time asked for (the worker's clock may add a millisecond); nobody
    before the first."""
    times = [int(f.timestamp_ms) for f in frames]

    def script(index: int, ts: int, image: object) -> list[PoseFrame]:
        i = bisect.bisect_right(times, int(ts)) - 1
        frame = frames[i] if i >= 0 else None
        return [] if frame is None or frame.is_missing else [frame]

    return script


def run_live(live: Any, frames: Sequence[PoseFrame], image_wh: tuple[int, int]) -> Any:
    """Feed `frames` to a programme's live session, stop it, return its summary."""
    for f in frames:
        live.feed(f, image_wh)
    live.stop()
    return live.summary()


@functools.cache
def summaries() -> dict[str, dict[str, Any]]:
    """The JSON summary of one session of each kind (as the kiosk gets it and the
    records keep it): a routine (preparation and two rounds of section one, then
    stopped), a posture screen (front and back; figures as `posture_frames`) and
    paced breathing (two breaths at the cued pace)."""
    from server.jsonable import to_jsonable
    from server.programmes import (
        POSTURE_ID,
        ProgrammeOptions,
        breathing_programme,
        builtin_programmes,
    )

    programmes = builtin_programmes()
    options = ProgrammeOptions(aspect=4 / 3, stature_cm=160.0)
    sk = Skeleton.BLAZEPOSE_33
    wh = (640, 480)
    out = {
        "routine": run_live(
            programmes["baduanjin"].starter(options)(sk), routine_frames(4 / 3), wh
        ),
        "posture": run_live(
            programmes[POSTURE_ID].starter(options)(sk), posture_frames(4 / 3), wh
        ),
        "breathing": run_live(
            breathing_programme(short_breathing(), "").starter(options)(sk),
            breathing_frames(4 / 3),
            wh,
        ),
    }
    return {kind: to_jsonable(summary) for kind, summary in out.items()}

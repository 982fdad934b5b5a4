"""server/jsonable.py: the one JSON encoder of engine values and landmarks (wire
messages, records and the coach page's replay all go through it)."""

from __future__ import annotations

import dataclasses
import enum
import math

import numpy as np
import pytest

from server.jsonable import joint_xy, replay_json, rounded, to_jsonable, visibility_list
from tests.server.store.helpers import frames
from vision.types import PoseWindow


class Band(enum.StrEnum):
    NORMAL = "normal"


class Phase(enum.IntEnum):
    UP = 1


@dataclasses.dataclass(frozen=True)
class Inner:
    values: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Outer:
    band: Band
    phase: Phase
    inner: Inner
    scores: dict[str, float]
    count: np.int64


def test_engine_values_become_json_ready() -> None:
    value = Outer(
        Band.NORMAL,
        Phase.UP,
        Inner((1.5, math.nan, math.inf)),
        {"knee": np.float32(0.25), "hip": math.nan},
        np.int64(3),
    )
    assert to_jsonable(value) == {
        "band": "normal",
        "phase": "UP",
        "inner": {"values": [1.5, None, None]},
        "scores": {"knee": 0.25, "hip": None},
        "count": 3,
    }


def test_unknown_objects_are_refused() -> None:
    with pytest.raises(TypeError, match="cannot serialize object"):
        to_jsonable(object())
    assert to_jsonable(np.array([1.0, np.inf], np.float32)) == [1.0, None]


def test_landmarks_round_and_null_what_is_missing() -> None:
    xyz = np.array(
        [[0.123456, 0.987654, 0.1], [np.nan, 0.5, 0.0], [0.5, np.inf, 0.0]],
        np.float32,
    )
    assert joint_xy(xyz) == [
        (round(float(xyz[0, 0]), 4), round(float(xyz[0, 1]), 4)),
        None,
        None,
    ]
    visibility = np.array([0.99951, np.nan, 0.0], np.float32)
    assert visibility_list(visibility) == [round(float(visibility[0]), 3), 0.0, 0.0]
    assert rounded(visibility, 2) == [1.0, None, 0.0]


def test_replay_json_thins_and_nulls_missing_joints() -> None:
    window = PoseWindow.from_frames(frames(10, missing_every=4))
    replay = replay_json(window, max_frames=4)
    assert replay["step"] == 3 and replay["frames"] == 4
    assert replay["timestamp_ms"] == [0, 99, 198, 297]
    assert len(replay["xy"][0]) == 66
    assert replay["xy"][0][10] is None and replay["xy"][0][11] is None  # joint 5
    assert replay["xy"][0][0] == round(float(window.xyz[0, 0, 0]), 4)
    assert replay["xy"][1] == [None] * 66  # frame 3: nobody in view
    assert replay["skeleton"] == "blazepose_33" and len(replay["joint_names"]) == 33
    assert replay_json(None)["frames"] == 0

"""exercises.routine: the built-in Baduanjin, validation with exact messages, files."""

from __future__ import annotations

import copy
import re
import tomllib
from contextlib import AbstractContextManager
from contextlib import nullcontext as does_not_raise
from pathlib import Path
from typing import Any

import pytest

from exercises.routine import (
    ROUTINES_DIR,
    RoutineError,
    builtin_routines,
    get_routine,
    load_routine,
    routine_from_dict,
)
from exercises.routine_features import FEATURES
from tests.conftest import shared_data_path
from tests.documents import Mutation, delete_at, set_at
from vision.types import COCO_JOINT_NAMES

ALL_FEATURES = ", ".join(FEATURES)
SECTION_IDS = (
    "preparation",
    "hold_up_heavens",
    "draw_the_bow",
    "raise_single_arm",
    "look_back",
    "sway_head_and_tail",
    "touch_the_feet",
    "punch_with_glare",
    "heel_raises",
    "closing",
)


def _files() -> tuple[dict[str, Any], dict[str, Any]]:
    routine = tomllib.loads((ROUTINES_DIR / "baduanjin.toml").read_text("utf-8"))
    poses = tomllib.loads((ROUTINES_DIR / "baduanjin.poses.toml").read_text("utf-8"))
    return routine, poses


ROUTINE, POSES = _files()

Edit = tuple[str, Mutation]
"""Which document ("routine" or "poses") and how it changes."""


def _routine(mutation: Mutation) -> Edit:
    return ("routine", mutation)


def _poses(mutation: Mutation) -> Edit:
    return ("poses", mutation)


def _raises(message: str) -> AbstractContextManager[Any]:
    return pytest.raises(RoutineError, match="^" + re.escape(message) + "$")


def _raises_partial(message: str) -> AbstractContextManager[Any]:
    return pytest.raises(RoutineError, match=re.escape(message))


CASES = [
    pytest.param(("routine", lambda d: None), does_not_raise(), id="valid"),
    pytest.param(
        _routine(set_at("colour", "red")),
        _raises(
            "r: colour: unknown key; valid keys: schema, id, name, description, "
            "standard, poses, rest_s, recognition, tolerance, elder, messages, sections"
        ),
        id="unknown-key",
    ),
    pytest.param(
        _routine(set_at("sections.1.channels.0", "wrist_hieght_left")),
        _raises(
            "r: sections[1].channels[0]: unknown feature 'wrist_hieght_left'; "
            f"valid features: {ALL_FEATURES}"
        ),
        id="unknown-feature",
    ),
    pytest.param(
        _routine(set_at("sections.0.name", {"en": "Preparation"})),
        _raises(
            "r: sections[0].name: missing 'zh-CN' text (every text needs en and zh-CN)"
        ),
        id="missing-chinese",
    ),
    pytest.param(
        _routine(set_at("sections.0.say.fr", "Préparation")),
        _raises("r: sections[0].say.fr: unknown language; valid languages: en, zh-CN"),
        id="unknown-language",
    ),
    pytest.param(
        _routine(set_at("sections.2.sides", "both")),
        _raises(
            "r: sections[2].sides: expected one of none, alternate, any, "
            "got a string ('both')"
        ),
        id="bad-sides",
    ),
    pytest.param(
        _routine(set_at("sections.1.rounds", 0)),
        _raises("r: sections[1].rounds: expected an integer >= 1, got int (0)"),
        id="zero-rounds",
    ),
    pytest.param(
        _routine(set_at("sections.1.cues.0.channel", "head_turn")),
        _raises(
            "r: sections[1].cues[0].channel: expected one of the section's channels "
            "(wrist_height_left, wrist_height_right, elbow_height_left, "
            "elbow_height_right), got 'head_turn'"
        ),
        id="cue-channel-not-followed",
    ),
    pytest.param(
        _routine(set_at("sections.1.cues.0.want", "higher")),
        _raises(
            "r: sections[1].cues[0].want: expected one of more, less, "
            "got a string ('higher')"
        ),
        id="cue-want",
    ),
    pytest.param(
        _routine(set_at("sections.6.turning_channels", ["head_turn"])),
        _raises(
            "r: sections[6].turning_channels[0]: expected one of the section's "
            "channels (wrist_height_left, wrist_height_right, head_height, "
            "trunk_height), got 'head_turn'"
        ),
        id="turning-channel-not-followed",
    ),
    pytest.param(
        _routine(set_at("sections.2.id", "hold_up_heavens")),
        _raises(
            "r: sections: expected unique section ids, got ['hold_up_heavens'] twice"
        ),
        id="duplicate-section",
    ),
    pytest.param(
        _routine(delete_at("tolerance.body_rise")),
        _raises("r: tolerance: missing tolerance for: body_rise"),
        id="missing-tolerance",
    ),
    pytest.param(
        _routine(set_at("tolerance.head_turn", 0)),
        _raises("r: tolerance.head_turn: expected a number > 0, got 0"),
        id="zero-tolerance",
    ),
    pytest.param(
        _routine(set_at("messages.cheer", {"en": "Go!", "zh-CN": "加油"})),
        _raises(
            "r: messages.cheer: unknown message; valid: other_side, tempo_ahead, "
            "tempo_behind, tempo_on, rest, well_done"
        ),
        id="unknown-message",
    ),
    pytest.param(
        _poses(delete_at("sections.closing")),
        _raises(
            "p: sections: missing poses for section 'closing'; sections there: "
            + ", ".join(SECTION_IDS[:-1])
        ),
        id="poses-missing-section",
    ),
    pytest.param(
        _poses(set_at("sections.extra", copy.deepcopy(POSES["sections"]["closing"]))),
        _raises(
            "p: sections: poses for unknown sections ['extra']; routine sections: "
            + ", ".join(SECTION_IDS)
        ),
        id="poses-unknown-section",
    ),
    pytest.param(
        _poses(
            set_at(
                "sections.preparation.key_poses.0.xy",
                POSES["sections"]["preparation"]["key_poses"][0]["xy"][:16],
            )
        ),
        _raises(
            "p: sections.preparation.key_poses[0].xy: expected 17 joints "
            f"({', '.join(COCO_JOINT_NAMES)}), got 16"
        ),
        id="key-pose-joints",
    ),
    pytest.param(
        _poses(set_at("sections.preparation.key_poses.2.name", "held")),
        _raises(
            "p: sections.preparation.key_poses: expected a key pose named 'turn', "
            "got ['rest', 'rising', 'held', 'returning', 'end']"
        ),
        id="key-pose-turn-missing",
    ),
    pytest.param(
        _poses(delete_at("sections.closing.reference.body_rise")),
        _raises(
            "p: sections.closing.reference: missing reference for features: body_rise"
        ),
        id="reference-feature-missing",
    ),
    pytest.param(
        _poses(set_at("sections.closing.reference.head_turn", [0.0] * 20)),
        _raises(
            "p: sections.closing.reference.head_turn: "
            "expected 21 samples like the others"
        ),
        id="reference-length",
    ),
    pytest.param(
        _poses(set_at("routine", "tai_chi")),
        _raises("p: routine: expected 'baduanjin', got 'tai_chi'"),
        id="poses-of-another-routine",
    ),
]


@pytest.mark.parametrize(("edit", "expectation"), CASES)
def test_validation(edit: Edit, expectation: AbstractContextManager[Any]) -> None:
    routine, poses = copy.deepcopy(ROUTINE), copy.deepcopy(POSES)
    document, mutation = edit
    mutation(routine if document == "routine" else poses)
    with expectation:
        routine_from_dict(routine, poses, source="r", poses_source="p")


def test_builtin_baduanjin_after_the_standard() -> None:
    routine = get_routine("baduanjin")
    assert tuple(s.id for s in routine.sections) == SECTION_IDS
    assert [s.number for s in routine.sections] == list(range(10))
    # the 2003 standard's repetitions, each side a round where a section alternates
    assert [s.rounds for s in routine.sections] == [1, 6, 6, 6, 6, 6, 6, 6, 7, 1]
    assert [s.sides for s in routine.sections] == [
        "none",
        "none",
        "alternate",
        "alternate",
        "alternate",
        "any",
        "none",
        "alternate",
        "none",
        "none",
    ]
    for s in routine.sections:
        assert s.name["zh-CN"] and s.say["zh-CN"] and s.instructions["zh-CN"]
        assert s.cues, f"{s.id} names nothing to improve"
        assert [k.name for k in s.key_poses] == [
            "rest",
            "rising",
            "turn",
            "returning",
            "end",
        ]
    assert builtin_routines() == {"baduanjin": routine}


def test_unknown_routine_lists_the_valid_ones() -> None:
    with pytest.raises(
        KeyError, match="unknown routine 'taichi'; valid routines: baduanjin"
    ):
        get_routine("taichi")


@pytest.mark.parametrize(
    ("name", "text", "expectation"),
    [
        pytest.param("baduanjin.toml", None, does_not_raise(), id="copy-loads"),
        pytest.param(
            "other.toml",
            None,
            _raises_partial("id: expected the file name 'other', got 'baduanjin'"),
            id="id-is-file-name",
        ),
        pytest.param(
            "baduanjin.toml",
            'schema = 1\nid = "baduanjin"\n',
            _raises_partial(
                "poses: expected the name of the poses file, got NoneType (None)"
            ),
            id="no-poses-file",
        ),
        pytest.param(
            "baduanjin.toml",
            "schema = [",
            _raises_partial("invalid TOML"),
            id="bad-toml",
        ),
    ],
)
def test_load_routine_files(
    tmp_path: Path,
    name: str,
    text: str | None,
    expectation: AbstractContextManager[Any],
) -> None:
    (tmp_path / "baduanjin.poses.toml").write_text(
        (ROUTINES_DIR / "baduanjin.poses.toml").read_text("utf-8"), "utf-8"
    )
    body = (
        text
        if text is not None
        else (ROUTINES_DIR / "baduanjin.toml").read_text("utf-8")
    )
    (tmp_path / name).write_text(body, "utf-8")
    with expectation:
        assert load_routine(tmp_path / name).id == "baduanjin"


@pytest.mark.slow
def test_poses_file_matches_the_standard_performances() -> None:
    """The committed poses file is what the generator makes of the shared reference."""
    data = shared_data_path("baduanjin")
    from benchmarks.routine_reference import build_poses, render

    text = (ROUTINES_DIR / "baduanjin.poses.toml").read_text("utf-8")
    assert render(build_poses(data)) == text

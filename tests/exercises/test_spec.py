"""exercises.spec: loading, validation (exact error messages), built-ins, dump."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from contextlib import AbstractContextManager
from contextlib import nullcontext as does_not_raise
from pathlib import Path
from typing import Any

import pytest

from exercises.metrics import METRICS
from exercises.spec import (
    TEMPLATES_DIR,
    ExerciseSpec,
    SpecError,
    UnknownExerciseError,
    builtin_specs,
    dump_spec,
    get_spec,
    load_spec,
    spec_from_dict,
)
from tests.documents import delete_at as _del
from tests.documents import set_at as _set

ALL_METRICS = ", ".join(METRICS)


def base() -> dict[str, Any]:
    """A small valid reps template (knee angle, up/down, 11-sample reference)."""
    return {
        "schema": 1,
        "id": "mini_squat",
        "kind": "reps",
        "name": {"en": "Mini squat", "zh-CN": "小深蹲"},
        "description": {"en": "Bend the knees.", "zh-CN": "屈膝。"},
        "instructions": {"en": "Bend and stand.", "zh-CN": "屈膝再站起。"},
        "view": "side",
        "posture": "standing",
        "audience": ["resident"],
        "required_joints": ["hip", "knee", "ankle"],
        "angles": {"knee": {"joints": ["hip", "knee", "ankle"], "side": "best"}},
        "phases": {
            "up": {"knee": {"min_deg": 160.0}},
            "down": {"knee": {"max_deg": 110.0}},
        },
        "cycle": ["up", "down", "up"],
        "reference": {
            "knee": [170, 160, 140, 120, 105, 100, 105, 120, 140, 160, 170],
            "tolerance": {"knee": 15.0},
        },
        "rules": [
            {
                "id": "too_deep",
                "angle": "knee",
                "below": 60.0,
                "during": ["down"],
                "severity": "minor",
                "text": {"en": "Not so deep.", "zh-CN": "不要蹲太深。"},
            }
        ],
    }


SRC = "<test>"
CASES = [
    pytest.param(lambda d: None, does_not_raise(), id="valid"),
    pytest.param(
        _set("colour", "red"),
        pytest.raises(
            SpecError,
            match=r"^<test>: colour: unknown key; valid keys: schema, id, kind,",
        ),
        id="unknown-top-key",
    ),
    pytest.param(
        _set("schema", 2),
        pytest.raises(SpecError, match=r"^<test>: schema: expected 1, got int \(2\)$"),
        id="schema-version",
    ),
    pytest.param(
        _set("kind", "circuit"),
        pytest.raises(
            SpecError,
            match=r"^<test>: kind: expected one of reps, hold, sequence, got a string "
            r"\('circuit'\)$",
        ),
        id="unknown-kind",
    ),
    pytest.param(
        _del("name.zh-CN"),
        pytest.raises(
            SpecError,
            match=r"^<test>: name: missing 'zh-CN' text \(every text needs en and "
            r"zh-CN\)$",
        ),
        id="missing-zh-name",
    ),
    pytest.param(
        _set("rules.0.text", {"en": "Not so deep."}),
        pytest.raises(
            SpecError, match=r"^<test>: rules\[0\]\.text: missing 'zh-CN' text"
        ),
        id="missing-zh-cue",
    ),
    pytest.param(
        _set("name.fr", "Squat"),
        pytest.raises(
            SpecError,
            match=r"^<test>: name\.fr: unknown language; valid languages: en, zh-CN$",
        ),
        id="unknown-language",
    ),
    pytest.param(
        _set("angles.knee.joints", ["hip", "kneecap", "ankle"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: angles\.knee\.joints\[1\]: unknown sideless joint \(or "
            r"other_<joint>, "
            r"or an unsided joint\) 'kneecap'; valid: ankle, ear, elbow,",
        ),
        id="unknown-joint",
    ),
    pytest.param(
        _set("angles.knee", ["left_hip", "left_kneecap", "left_ankle"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: angles\.knee\[1\]: unknown joint 'left_kneecap'; valid: "
            r"nose, left_eye_inner,",
        ),
        id="unknown-fixed-joint",
    ),
    pytest.param(
        _set("angles.knee.joints", ["left_hip", "knee", "ankle"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: angles\.knee\.joints\[0\]: a side-aware angle names "
            r"joints without "
            r"their side, got 'left_hip'; write 'hip'",
        ),
        id="sided-name-in-side-aware-angle",
    ),
    pytest.param(
        _set("angles.knee", ["hip", "knee", "ankle"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: angles\.knee\[0\]: 'hip' has no side: add side = one of "
            r"left, right, "
            r"best, both, min, max to the angle, or write left_hip / right_hip$",
        ),
        id="sideless-name-without-side",
    ),
    pytest.param(
        _set("angles.knee.side", "front"),
        pytest.raises(
            SpecError,
            match=r"^<test>: angles\.knee\.side: expected one of left, right, best, "
            r"both, min, max, "
            r"got a string \('front'\)$",
        ),
        id="unknown-side",
    ),
    pytest.param(
        _set("angles.knee.joints", ["hip", "knee"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: angles\.knee\.joints: expected 3 joint names \(angle at "
            r"the middle one\), got 2$",
        ),
        id="two-joints",
    ),
    pytest.param(
        _set("phases.down", {"knee_valgus": {"max": 0.1}}),
        pytest.raises(
            SpecError,
            match=r"^<test>: phases\.down\.knee_valgus: unknown angle or metric "
            r"'knee_valgus'; "
            r"angles: knee; metrics: " + ALL_METRICS.replace("(", r"\(") + "$",
        ),
        id="unknown-metric-in-phase",
    ),
    pytest.param(
        _set("phases.down.knee", {"max": 110.0}),
        pytest.raises(
            SpecError,
            match=r"^<test>: phases\.down\.knee\.max: unknown key; valid keys: "
            r"min_deg, max_deg$",
        ),
        id="metric-bound-on-angle",
    ),
    pytest.param(
        _set("phases.down.knee", {"min_deg": 120.0, "max_deg": 100.0}),
        pytest.raises(
            SpecError,
            match=r"^<test>: phases\.down\.knee: expected min_deg < max_deg, got "
            r"120\.0 >= 100\.0$",
        ),
        id="inverted-bounds",
    ),
    pytest.param(
        _set("cycle", ["up", "bottom", "up"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: cycle\[1\]: unknown phase 'bottom'; valid phases: down, "
            r"up$",
        ),
        id="unknown-phase-in-cycle",
    ),
    pytest.param(
        _set("phases.down.knee", {"max_deg": 158.0}),
        pytest.raises(
            SpecError,
            match=r"^<test>: cycle: phases 'up' and 'down' follow each other but no "
            r"angle or "
            r"metric separates them by at least 5 deg",
        ),
        id="phases-without-hysteresis",
    ),
    pytest.param(
        _set("reference.t", [0.0, 0.1, 0.2, 0.3, 0.5, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0]),
        pytest.raises(
            SpecError,
            match=r"^<test>: reference\.t\[5\]: expected strictly increasing times, "
            r"got 0\.4 after 0\.5$",
        ),
        id="non-monotonic-reference-time",
    ),
    pytest.param(
        _set("reference.t", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]),
        pytest.raises(
            SpecError,
            match=r"^<test>: reference\.t: expected to start at 0 and end at 1, got "
            r"0\.1\.\.1$",
        ),
        id="reference-time-not-from-0",
    ),
    pytest.param(
        _set("reference.knee", [170, 160, 140, 120]),
        pytest.raises(
            SpecError,
            match=r"^<test>: reference\.knee: expected 5\.\.101 samples, got 4$",
        ),
        id="too-few-samples",
    ),
    pytest.param(
        _set("reference.knee", [170, 160, 140, 130, 125, 120, 125, 130, 140, 160, 170]),
        pytest.raises(
            SpecError,
            match=r"^<test>: reference: the reference never reaches phase 'down' \(in "
            r"cycle order up, down, up\)$",
        ),
        id="reference-misses-phase",
    ),
    pytest.param(
        _set("reference.knee", [150, 160, 140, 120, 105, 100, 105, 120, 140, 160, 170]),
        pytest.raises(
            SpecError,
            match=r"^<test>: reference: the reference must start in phase 'up' \(at "
            r"t=0\)$",
        ),
        id="reference-starts-outside-phase",
    ),
    pytest.param(
        _del("reference.tolerance"),
        pytest.raises(
            SpecError,
            match=r"^<test>: reference\.tolerance: missing required key \(a tolerance "
            r"per channel: knee\)$",
        ),
        id="missing-tolerance",
    ),
    pytest.param(
        _set("reference.tolerance.knee", 0),
        pytest.raises(
            SpecError,
            match=r"^<test>: reference\.tolerance\.knee: expected a number > 0, got 0$",
        ),
        id="zero-tolerance",
    ),
    pytest.param(
        _set("rules.0.angle", "hip"),
        pytest.raises(
            SpecError,
            match=r"^<test>: rules\[0\]\.angle: unknown angle 'hip'; valid angles: "
            r"knee$",
        ),
        id="rule-unknown-angle",
    ),
    pytest.param(
        lambda d: (
            d["rules"][0].pop("angle"),
            d["rules"][0].update(metric="knee_caving"),
        ),
        pytest.raises(
            SpecError,
            match=r"^<test>: rules\[0\]\.metric: unknown metric 'knee_caving'; valid "
            r"metrics: " + ALL_METRICS + "$",
        ),
        id="rule-unknown-metric",
    ),
    pytest.param(
        lambda d: d["rules"][0].update(metric="trunk_lean_deg"),
        pytest.raises(
            SpecError,
            match=r"^<test>: rules\[0\]: expected exactly one of 'metric' \(from the "
            r"registry\) or 'angle'$",
        ),
        id="rule-metric-and-angle",
    ),
    pytest.param(
        _set("rules.0.during", ["bottom"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: rules\[0\]\.during\[0\]: unknown phase 'bottom'; valid: "
            r"down, up, rep, in_position$",
        ),
        id="rule-unknown-phase",
    ),
    pytest.param(
        _set("rules.0.severity", "critical"),
        pytest.raises(
            SpecError,
            match=r"^<test>: rules\[0\]\.severity: expected one of info, minor, "
            r"major, safety, "
            r"got a string \('critical'\)$",
        ),
        id="rule-unknown-severity",
    ),
    pytest.param(
        _del("rules.0.below"),
        pytest.raises(
            SpecError,
            match=r"^<test>: rules\[0\]: expected 'above' and/or 'below' \(the "
            r"threshold\)$",
        ),
        id="rule-without-threshold",
    ),
    pytest.param(
        lambda d: d["rules"].append(copy.deepcopy(d["rules"][0])),
        pytest.raises(
            SpecError, match=r"^<test>: rules\[1\]\.id: duplicate rule id 'too_deep'$"
        ),
        id="duplicate-rule-id",
    ),
    pytest.param(
        _set("required_joints", ["hip", "toe"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: required_joints\[1\]: unknown joint 'toe'; valid:",
        ),
        id="unknown-required-joint",
    ),
    pytest.param(
        _set("audience", ["kids"]),
        pytest.raises(
            SpecError,
            match=r"^<test>: audience\[0\]: expected one of resident, elder, rehab, "
            r"gym, group, "
            r"got a string \('kids'\)$",
        ),
        id="unknown-audience",
    ),
    pytest.param(
        _set("elder", {"phases": {"bottom": {"knee": {"max_deg": 120.0}}}}),
        pytest.raises(
            SpecError,
            match=r"^<test>: elder\.phases\.bottom: unknown phase 'bottom'; valid "
            r"phases: down, up$",
        ),
        id="elder-unknown-phase",
    ),
    pytest.param(
        _set(
            "partial",
            {
                "cue": {"en": "Lower.", "zh-CN": "再低一点。"},
                "phases": {"up": {"knee": {"min_deg": 150.0}}},
            },
        ),
        pytest.raises(
            SpecError,
            match=r"^<test>: partial\.phases\.up: only the cycle's turning phases can "
            r"be partial; valid: down$",
        ),
        id="partial-start-phase",
    ),
    pytest.param(
        _set("hold", {"target_s": 10, "in_position": {"knee": {"min_deg": 100}}}),
        pytest.raises(
            SpecError,
            match=r"^<test>: hold: only hold templates have \[hold\], this one is "
            r"'reps'$",
        ),
        id="hold-in-reps",
    ),
    pytest.param(
        _set("id", "Mini Squat"),
        pytest.raises(
            SpecError,
            match=r"^<test>: id: expected an id of lowercase letters, digits and _, "
            r"got 'Mini Squat'$",
        ),
        id="bad-id",
    ),
]


@pytest.mark.parametrize(("mutate", "expectation"), CASES)
def test_spec_from_dict_validation(
    mutate: Callable[[dict[str, Any]], None], expectation: AbstractContextManager[Any]
) -> None:
    data = base()
    mutate(data)
    with expectation:
        spec = spec_from_dict(data, source=SRC)
        assert spec.id == "mini_squat"


def test_valid_spec_fields() -> None:
    spec = spec_from_dict(base(), source=SRC)
    assert spec.kind == "reps"
    assert spec.cycle == ("up", "down", "up")
    assert spec.angle("knee").resolve("left") == ("left_hip", "left_knee", "left_ankle")
    assert spec.angle("knee").resolve("right") == (
        "right_hip",
        "right_knee",
        "right_ankle",
    )
    assert spec.reference is not None
    assert spec.reference.t[0] == 0.0 and spec.reference.t[-1] == 1.0
    assert len(spec.reference.t) == 11
    assert spec.reference.at("knee", 0.5) == 100.0
    assert spec.source == SRC


def test_other_joint_resolves_to_the_opposite_side() -> None:
    data = base()
    data["angles"]["abd"] = {"joints": ["other_hip", "hip", "knee"], "side": "max"}
    spec = spec_from_dict(data)
    assert spec.angle("abd").resolve("left") == ("right_hip", "left_hip", "left_knee")


def test_elder_phases_override_and_are_checked_for_hysteresis() -> None:
    data = base()
    data["elder"] = {"pace_s": 5.0, "phases": {"down": {"knee": {"max_deg": 125.0}}}}
    spec = spec_from_dict(data)
    assert spec.phases_for(False)["down"].conditions[0].max == 110.0
    assert spec.phases_for(True)["down"].conditions[0].max == 125.0
    data["elder"]["phases"]["down"]["knee"]["max_deg"] = 158.0
    with pytest.raises(
        SpecError, match=r"^<memory>: elder\.phases: phases 'up' and 'down'"
    ):
        spec_from_dict(data)


def test_load_spec_errors(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.toml: cannot read the template"):
        load_spec(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "bad"\nkind = ', encoding="utf-8")
    with pytest.raises(SpecError, match=r"bad\.toml: invalid TOML: "):
        load_spec(bad)
    other = tmp_path / "other.toml"
    other.write_text(dump_spec(spec_from_dict(base())), encoding="utf-8")
    with pytest.raises(
        SpecError,
        match=r"other\.toml: id: expected the file name 'other', got 'mini_squat'$",
    ):
        load_spec(other)


def test_load_spec_names_the_file_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "mini_squat.toml"
    text = dump_spec(spec_from_dict(base())).replace('"best"', '"sideways"')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as exc:
        load_spec(path)
    assert str(exc.value).startswith(f"{path}: angles.knee.side: expected one of left,")


def test_dump_round_trip() -> None:
    spec = spec_from_dict(base())
    text = dump_spec(spec)
    again = spec_from_dict(tomllib.loads(text))
    assert again == spec


def test_builtins_and_get_spec() -> None:
    specs = builtin_specs()
    assert len([s for s in specs.values() if s.kind != "sequence"]) >= 16
    assert any(s.kind == "sequence" for s in specs.values())
    assert set(specs) == {p.stem for p in TEMPLATES_DIR.glob("*.toml")}
    assert get_spec("squat") is specs["squat"]
    specs.pop("squat")  # a copy: the cache is not mutated
    assert "squat" in builtin_specs()


def test_unknown_exercise_lists_valid_ids() -> None:
    with pytest.raises(UnknownExerciseError) as exc:
        get_spec("sqaut")
    assert isinstance(exc.value, KeyError)
    message = str(exc.value)
    assert message.startswith("unknown exercise 'sqaut'; valid exercises: arm_raise, ")
    for sid in builtin_specs():
        assert sid in message


def test_specs_are_frozen() -> None:
    spec: ExerciseSpec = get_spec("squat")
    with pytest.raises(AttributeError):
        spec.id = "other"  # type: ignore[misc]

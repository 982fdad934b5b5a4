"""`movecoach templates list | show | validate` in-process through `server.cli.main`."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from exercises.spec import (
    TEMPLATES_DIR,
    builtin_specs,
    dump_spec,
    get_spec,
    spec_from_dict,
)
from server.cli import main


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(builtin_specs())
    squat = next(line for line in lines if line.startswith("squat "))
    assert squat.split()[1:3] == ["reps", "any"]
    assert squat.endswith("Squat / 深蹲")


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["id"] for r in rows} == set(builtin_specs())
    plank = next(r for r in rows if r["id"] == "plank")
    assert plank["kind"] == "hold"
    assert plank["name"] == {"en": "Plank", "zh-CN": "平板支撑"}


def test_show_prints_loadable_toml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "show", "baduanjin_1"]) == 0
    text = capsys.readouterr().out
    assert spec_from_dict(tomllib.loads(text)) == get_spec("baduanjin_1")


def test_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "show", "squat", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert spec_from_dict(data) == get_spec("squat")


def test_show_unknown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "show", "yoga"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "movecoach templates: error: unknown exercise 'yoga'; valid exercises: "
    )


def test_validate_good_files(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(p) for p in sorted(TEMPLATES_DIR.glob("*.toml"))]
    assert main(["templates", "validate", *paths]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == len(paths)
    assert out[0] == f"ok: {paths[0]} (arm_raise, reps)"


def test_validate_reports_each_malformed_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "squat.toml"
    good.write_text(dump_spec(get_spec("squat")), encoding="utf-8")
    bad = tmp_path / "squat_bad.toml"
    bad.write_text(
        dump_spec(get_spec("squat"))
        .replace('id = "squat"', 'id = "squat_bad"')
        .replace('metric = "trunk_lean_deg"', 'metric = "trunk_angle"'),
        encoding="utf-8",
    )
    broken = tmp_path / "broken.toml"
    broken.write_text("id = ", encoding="utf-8")
    assert main(["templates", "validate", str(good), str(bad), str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"ok: {good} (squat, reps)"]
    errors = captured.err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(
        f"movecoach templates: error: {bad}: rules[1].metric: unknown metric "
        "'trunk_angle'; valid metrics: knee_valgus_ratio, trunk_lean_deg,"
    )
    assert errors[1].startswith(f"movecoach templates: error: {broken}: invalid TOML: ")

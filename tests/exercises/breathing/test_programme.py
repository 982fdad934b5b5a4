"""Breathing programmes as data: the shipped files and the validator's messages."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from exercises.breathing.programme import (
    PROGRAMMES_DIR,
    ProgrammeError,
    builtin_programmes,
    programme_from_dict,
    programme_from_toml,
)
from tests.documents import delete_at, set_at

FILES = sorted(PROGRAMMES_DIR.glob("*.toml"))


def _doc() -> dict[str, Any]:
    return tomllib.loads((PROGRAMMES_DIR / "pursed_lip_breathing.toml").read_text())


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_shipped_programme_loads(path: Any) -> None:
    p = programme_from_toml(path.read_text(encoding="utf-8"), path.name)
    assert p.id == path.stem
    assert p.exhale_s > p.inhale_s  # lung rehab: the out-breath is the longer one
    for text in (p.name, p.description, p.instructions, p.inhale_cue, p.exhale_cue):
        assert set(text) == {"en", "zh-CN"}
    assert p.sources and p.source_note


def test_builtins_by_id() -> None:
    programmes = builtin_programmes()
    assert set(programmes) == {"arm_raise_breathing", "pursed_lip_breathing"}
    pl = programmes["pursed_lip_breathing"]
    assert (pl.inhale_s, pl.exhale_s, pl.period_s, pl.ratio) == (2.0, 4.0, 6.0, 2.0)
    assert "medlineplus.gov" in pl.sources[0]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(set_at("tempo", 3), "tempo: unknown key; valid keys", id="key"),
        pytest.param(
            set_at("inhale_s", 0.1), "inhale_s: expected a number from 0.5", id="fast"
        ),
        pytest.param(set_at("cycles", 0), "cycles: expected an integer from 1", id="n"),
        pytest.param(
            set_at("movement", "legs"), "movement: expected one of arms_raise", id="mv"
        ),
        pytest.param(
            set_at("posture", "lying"), "expected one of standing, seated", id="pos"
        ),
        pytest.param(set_at("schema", 2), "schema: expected 1", id="schema"),
        pytest.param(set_at("id", "Pursed"), "id: expected an id", id="id"),
        pytest.param(
            delete_at("inhale_cue.zh-CN"), 'inhale_cue."zh-CN": missing', id="lang"
        ),
        pytest.param(delete_at("sources"), "sources: missing required key", id="src"),
    ],
)
def test_bad_documents_are_named(mutate: Any, message: str) -> None:
    doc = _doc()
    mutate(doc)
    with pytest.raises(ProgrammeError, match=message):
        programme_from_dict(doc, "p.toml")


def test_invalid_toml_names_the_source() -> None:
    with pytest.raises(ProgrammeError, match=r"mine\.toml: invalid TOML"):
        programme_from_toml("schema = ", "mine.toml")

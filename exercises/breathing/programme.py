"""Breathing programmes as data: the prescribed pace (in-breath, out-breath, cycles),
the movement that goes with it, and what is said, in zh-CN and en.

    programme = builtin_programmes()["pursed_lip_breathing"]
    programme = programme_from_toml(text, "my_programme.toml")   # ProgrammeError

File layout (`programmes/*.toml`, read with the stdlib's tomllib):

    schema = 1
    id = "pursed_lip_breathing"          # = the file name
    posture = "either"                   # standing | seated | either
    movement = "arms_raise"              # the arms rise on the in-breath (closed set)
    inhale_s = 2.0                       # 0.5 .. 20
    exhale_s = 4.0                       # 0.5 .. 30
    cycles = 10                          # 1 .. 60
    lead_in_s = 10.0                     # instructions before the first breath, 0 .. 60
    sources = ["..."]                    # where the pace comes from
    source_note = "..."
    [name] / [description] / [instructions] / [inhale_cue] / [exhale_cue] / [finish]
    en = "..."; zh-CN = "..."            # every text in both languages

Core module: stdlib only; files are read only by `builtin_programmes`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from exercises.checks import parse_toml
from exercises.events import LocalizedText
from exercises.fields import Fields

__all__ = [
    "MOVEMENTS",
    "POSTURES",
    "PROGRAMMES_DIR",
    "BreathingProgramme",
    "ProgrammeError",
    "builtin_programmes",
    "programme_from_dict",
    "programme_from_toml",
]

PROGRAMMES_DIR: Final[Path] = Path(__file__).resolve().parent / "programmes"
POSTURES: Final[tuple[str, ...]] = ("standing", "seated", "either")
MOVEMENTS: Final[tuple[str, ...]] = ("arms_raise",)
"""How the breath shows: "arms_raise" = both arms rise (in front or to the side) on
the in-breath and come down on the out-breath."""

_TEXTS: Final[tuple[str, ...]] = (
    "name",
    "description",
    "instructions",
    "inhale_cue",
    "exhale_cue",
    "finish",
)
_KEYS: Final[tuple[str, ...]] = (
    "schema",
    "id",
    "posture",
    "movement",
    "inhale_s",
    "exhale_s",
    "cycles",
    "lead_in_s",
    "sources",
    "source_note",
    *_TEXTS,
)


class ProgrammeError(ValueError):
    """A breathing programme file is invalid; the message names the key path."""


@dataclass(frozen=True, slots=True)
class BreathingProgramme:
    """One breathing programme (see the module docstring for the fields)."""

    id: str
    posture: str
    movement: str
    inhale_s: float
    exhale_s: float
    cycles: int
    lead_in_s: float
    sources: tuple[str, ...]
    source_note: str
    name: LocalizedText
    description: LocalizedText
    instructions: LocalizedText
    inhale_cue: LocalizedText
    exhale_cue: LocalizedText
    finish: LocalizedText

    @property
    def period_s(self) -> float:
        """One breath, in and out."""
        return self.inhale_s + self.exhale_s

    @property
    def ratio(self) -> float:
        """Out-breath / in-breath (2.0 = out twice as long as in)."""
        return self.exhale_s / self.inhale_s


def programme_from_dict(data: Any, source: str = "<memory>") -> BreathingProgramme:
    """Validate a parsed programme.

    Raises:
        ProgrammeError: an unknown or missing key, a value out of range, a text
            missing a language; the message names the key path and what was expected.
    """
    top = Fields.root(data, source, ProgrammeError)
    top.check_keys(_KEYS, required=_KEYS)
    if top.integer("schema") != 1:
        raise top.fail("schema", f"expected 1, got {top.raw('schema')!r}")
    return BreathingProgramme(
        id=top.ident("id"),
        posture=top.choice("posture", POSTURES),
        movement=top.choice("movement", MOVEMENTS),
        inhale_s=top.number("inhale_s", minimum=0.5, maximum=20.0),
        exhale_s=top.number("exhale_s", minimum=0.5, maximum=30.0),
        cycles=top.integer("cycles", minimum=1, maximum=60),
        lead_in_s=top.number("lead_in_s", minimum=0.0, maximum=60.0),
        sources=tuple(top.strings("sources", min_items=1)),
        source_note=top.string("source_note"),
        name=top.text("name"),
        description=top.text("description"),
        instructions=top.text("instructions"),
        inhale_cue=top.text("inhale_cue"),
        exhale_cue=top.text("exhale_cue"),
        finish=top.text("finish"),
    )


def programme_from_toml(text: str, source: str = "<memory>") -> BreathingProgramme:
    """Parse and validate a programme file's text."""
    return programme_from_dict(parse_toml(text, source, ProgrammeError), source)


@functools.cache
def _builtin_texts() -> tuple[tuple[str, str], ...]:
    return tuple(
        (p.name, p.read_text(encoding="utf-8"))
        for p in sorted(PROGRAMMES_DIR.glob("*.toml"))
    )


def builtin_programmes() -> dict[str, BreathingProgramme]:
    """The programmes shipped in `PROGRAMMES_DIR`, by id (an id must match its file
    name)."""
    out = {}
    for name, text in _builtin_texts():
        programme = programme_from_toml(text, f"programmes/{name}")
        if programme.id != name.removesuffix(".toml"):
            raise ProgrammeError(
                f"programmes/{name}: id: expected the file name, got {programme.id!r}"
            )
        out[programme.id] = programme
    return out

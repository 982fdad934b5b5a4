"""Templates back to data: `spec_to_dict` (the layout `spec_from_dict` reads) and
`dump_spec` (TOML text). `exercises.spec` re-exports both.

Core module: stdlib.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from exercises.metrics import METRICS
from exercises.spec_model import Condition, ElderOverrides, ExerciseSpec, Reference

__all__ = ["dump_spec", "spec_to_dict"]

# --- back to data --------------------------------------------------------------


def _conds_to_dict(conds: tuple[Condition, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in conds:
        lo, hi = ("min", "max") if c.key in METRICS else ("min_deg", "max_deg")
        d: dict[str, float] = {}
        if c.min is not None:
            d[lo] = c.min
        if c.max is not None:
            d[hi] = c.max
        out[c.key] = d
    return out


def _ref_to_dict(ref: Reference) -> dict[str, Any]:
    out: dict[str, Any] = {"t": list(ref.t)}
    for name, row in zip(ref.channels, ref.values, strict=True):
        out[name] = list(row)
    out["tolerance"] = dict(zip(ref.channels, ref.tolerance, strict=True))
    return out


def spec_to_dict(spec: ExerciseSpec) -> dict[str, Any]:
    """The template layout of a spec; `spec_from_dict(spec_to_dict(s)) == s`."""
    out: dict[str, Any] = {
        "schema": spec.schema,
        "id": spec.id,
        "kind": spec.kind,
        "view": spec.view,
        "posture": spec.posture,
        "audience": list(spec.audience),
        "pace_s": spec.pace_s,
    }
    if spec.min_rep_s is not None:
        out["min_rep_s"] = spec.min_rep_s
    if spec.target_reps is not None:
        out["target_reps"] = spec.target_reps
    out["required_joints"] = list(spec.required_joints)
    if spec.cycle:
        out["cycle"] = list(spec.cycle)
    out["name"] = dict(spec.name)
    out["description"] = dict(spec.description)
    out["instructions"] = dict(spec.instructions)
    if spec.angles:
        out["angles"] = {
            a.name: list(a.joints)
            if a.side is None and a.view == "any"
            else {
                "joints": list(a.joints),
                **({"side": a.side} if a.side else {}),
                "view": a.view,
            }
            for a in spec.angles
        }
    if spec.phases:
        out["phases"] = {p.name: _conds_to_dict(p.conditions) for p in spec.phases}
    if spec.position:
        out["position"] = _conds_to_dict(spec.position)
    if spec.reference is not None:
        out["reference"] = _ref_to_dict(spec.reference)
    if spec.hold is not None:
        h = spec.hold
        out["hold"] = {
            "target_s": h.target_s,
            "in_position": _conds_to_dict(h.in_position),
            "target": dict(h.target),
            "tolerance": dict(h.tolerance),
        }
    if spec.moves:
        out["moves"] = []
        for m in spec.moves:
            d: dict[str, Any] = {
                "id": m.id,
                "name": dict(m.name),
                "from": m.start,
                "to": m.end,
            }
            if m.hold_s:
                d["hold_s"] = m.hold_s
            if m.pace_s is not None:
                d["pace_s"] = m.pace_s
            d["reference"] = _ref_to_dict(m.reference)
            out["moves"].append(d)
    if spec.rules:
        out["rules"] = []
        for r in spec.rules:
            rd: dict[str, Any] = {"id": r.id}
            if r.metric is not None:
                rd["metric"] = r.metric
            else:
                rd["angle"] = r.angle
            if r.above is not None:
                rd["above"] = r.above
            if r.below is not None:
                rd["below"] = r.below
            if r.during:
                rd["during"] = list(r.during)
            rd["severity"] = r.severity.name.lower()
            rd["min_duration_ms"] = r.min_duration_ms
            rd["timing"] = r.timing
            rd["text"] = dict(r.text)
            if r.firm is not None:
                rd["firm"] = dict(r.firm)
            if r.gentle is not None:
                rd["gentle"] = dict(r.gentle)
            out["rules"].append(rd)
    if spec.partial is not None:
        out["partial"] = {
            "cue": dict(spec.partial.cue),
            "phases": {
                p.name: _conds_to_dict(p.conditions) for p in spec.partial.phases
            },
        }
    e = spec.elder
    if e != ElderOverrides():
        ed: dict[str, Any] = {}
        if e.pace_s is not None:
            ed["pace_s"] = e.pace_s
        if e.hold_target_s is not None:
            ed["hold_target_s"] = e.hold_target_s
        if e.phases:
            ed["phases"] = {p.name: _conds_to_dict(p.conditions) for p in e.phases}
        out["elder"] = ed
    return out


_BARE_KEY: Final = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid TOML basic string (same escapes).
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ "
            + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
            + " }"
        )
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _emit(
    lines: list[str], prefix: str, table: dict[str, Any], array: bool = False
) -> None:
    if prefix:
        lines.append("")
        lines.append(f"[[{prefix}]]" if array else f"[{prefix}]")
    subtables: list[tuple[str, Any, bool]] = []
    for key, value in table.items():
        if (
            isinstance(value, dict)
            and value
            and any(isinstance(v, dict) for v in value.values())
        ):
            subtables.append((key, value, False))
        elif isinstance(value, dict) and key in (
            "name",
            "description",
            "instructions",
            "reference",
            "hold",
            "elder",
            "partial",
            "tolerance",
            "target",
            "in_position",
        ):
            subtables.append((key, value, False))
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
        ):
            subtables.append((key, value, True))
        else:
            lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    for key, value, is_array in subtables:
        name = f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)
        if is_array:
            for item in value:
                _emit(lines, name, item, array=True)
        else:
            _emit(lines, name, value)


def dump_spec(spec: ExerciseSpec) -> str:
    """TOML text of a spec (for saving authored templates); `load_spec` reads it back
    to an equal spec."""
    lines = [f"# {spec.name['en']} / {spec.name['zh-CN']}"]
    _emit(lines, "", spec_to_dict(spec))
    return "\n".join(lines) + "\n"

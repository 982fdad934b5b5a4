# ruff: noqa: RUF001  (full-width punctuation in the zh-CN texts)
"""A small self-contained HTML report of one analysed recording (`movecoach analyze
--report out.html`): the summary, each rep's score (a bar per rep, and a table), and
the template's channels over the recording (as the engine computed them:
`exercises.analysis.channel_trace`) against the template's reference band laid on
each rep's recorded time, as the coach page lays it (`server.api.sessions.spec_band`:
the reference crosses the phase thresholds at `span`, so that part of it lies on the
rep and the rest around it). Charts are inline SVG; no script, no external file.
Texts in English or Chinese.

    write_report(Path("out.html"), spec=spec, window=window, analysis=analysis,
                 source="clip.mp4", lang="zh-CN")
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from exercises.analysis import Analysis, channel_trace
from exercises.spec import ExerciseSpec
from vision.types import PoseWindow

__all__ = ["REPORT_SUFFIXES", "TEXTS", "render_report", "write_report"]

REPORT_SUFFIXES: Final[tuple[str, ...]] = (".html", ".htm")

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "title": "MoveCoach analysis",
        "source": "Recording",
        "frames": "{n} frames, {s} s, image {aspect}:1",
        "reps": "Repetitions",
        "mean_score": "Average score",
        "scores": "Score per repetition",
        "rep": "Rep",
        "score": "Score",
        "duration": "Duration (s)",
        "rom": "Range of motion (deg)",
        "cues": "Cues",
        "curves": "Angles against the template's band",
        "curves_explain": "Blue: the recording as the engine saw it. Green: the "
        "template's reference and its tolerance band, laid on each repetition.",
        "no_reps": "No repetitions were counted.",
        "no_band": "This template has no reference band: the curves alone.",
        "time": "time (s)",
        "partial": "partial",
    },
    "zh-CN": {
        "title": "MoveCoach 动作分析",
        "source": "录像",
        "frames": "{n}帧，{s}秒，画面宽高比{aspect}:1",
        "reps": "次数",
        "mean_score": "平均得分",
        "scores": "每次得分",
        "rep": "次",
        "score": "得分",
        "duration": "用时（秒）",
        "rom": "活动范围（度）",
        "cues": "提示",
        "curves": "关节角度与模板范围对比",
        "curves_explain": "蓝线：引擎看到的录像动作。绿色：模板的参考动作及其允许范围，"
        "对齐到每一次动作上。",
        "no_reps": "没有数到完整的动作。",
        "no_band": "这个模板没有参考范围，只画出角度曲线。",
        "time": "时间（秒）",
        "partial": "不完整",
    },
}

_W, _H = 760, 200  # a chart's size in px
_PAD_L, _PAD_R, _PAD_T, _PAD_B = 46, 12, 10, 26
_STYLE: Final[str] = """
body { font-family: "Noto Sans", "Noto Sans CJK SC", sans-serif; margin: 2em auto;
  max-width: 820px; color: #1d2b36; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em 0.2em 0;
  border-bottom: 1px solid #d5dde3; text-align: left; }
.muted { color: #5b6b78; } figure { margin: 1em 0; } svg { background: #fbfcfd; }
"""


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{digits}f}"


class _Axes:
    """Maps data (x, y) to the pixels of one chart."""

    def __init__(self, x0: float, x1: float, y0: float, y1: float) -> None:
        self.x0, self.x1 = x0, (x1 if x1 > x0 else x0 + 1.0)
        self.y0, self.y1 = y0, (y1 if y1 > y0 else y0 + 1.0)

    def x(self, v: float) -> float:
        return _PAD_L + (v - self.x0) / (self.x1 - self.x0) * (_W - _PAD_L - _PAD_R)

    def y(self, v: float) -> float:
        return (
            _H - _PAD_B - (v - self.y0) / (self.y1 - self.y0) * (_H - _PAD_T - _PAD_B)
        )

    def frame(self, x_label: str, x_ticks: Sequence[float] | None = None) -> str:
        """The plot's box, a few y ticks, the x ticks (five by default; the last one
        left to the axis' label)."""
        parts = [
            f'<rect x="{_PAD_L}" y="{_PAD_T}" width="{_W - _PAD_L - _PAD_R}" '
            f'height="{_H - _PAD_T - _PAD_B}" fill="none" stroke="#c8d1d8"/>'
        ]
        digits = 0 if self.y1 - self.y0 >= 10 else 1 if self.y1 - self.y0 >= 1 else 2
        for v in np.linspace(self.y0, self.y1, 4):
            y = self.y(float(v))
            parts.append(
                f'<text x="{_PAD_L - 4}" y="{y + 4:.1f}" font-size="11" '
                f'text-anchor="end" fill="#5b6b78">{v:.{digits}f}</text>'
            )
        ticks = np.linspace(self.x0, self.x1, 6)[:-1] if x_ticks is None else x_ticks
        for v in ticks:
            x = self.x(float(v))
            parts.append(
                f'<text x="{x:.1f}" y="{_H - 8}" font-size="11" text-anchor="middle" '
                f'fill="#5b6b78">{v:.0f}</text>'
            )
        parts.append(
            f'<text x="{_W - _PAD_R}" y="{_H - 8}" font-size="11" text-anchor="end" '
            f'fill="#5b6b78">{_esc(x_label)}</text>'
        )
        return "".join(parts)


def _path(axes: _Axes, xs: Sequence[float], ys: Sequence[float]) -> str:
    """An SVG path through the finite points (a gap where a value is missing)."""
    out: list[str] = []
    pen = "M"
    for x, y in zip(xs, ys, strict=True):
        if not (math.isfinite(x) and math.isfinite(y)):
            pen = "M"
            continue
        out.append(f"{pen}{axes.x(x):.1f},{axes.y(y):.1f}")
        pen = "L"
    return " ".join(out)


def _svg(body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" role="img">{body}</svg>'
    )


def _score_chart(scores: Sequence[float], x_label: str) -> str:
    axes = _Axes(0.4, len(scores) + 1.0, 0.0, 100.0)
    bars = []
    width = max(2.0, axes.x(1.0) - axes.x(0.6))
    for i, s in enumerate(scores, start=1):
        if not math.isfinite(s):
            continue
        colour = "#2ca02c" if s >= 80 else "#e0a500" if s >= 60 else "#d62728"
        top = axes.y(s)
        bars.append(
            f'<rect class="bar" x="{axes.x(i) - width / 2:.1f}" y="{top:.1f}" '
            f'width="{width:.1f}" height="{axes.y(0.0) - top:.1f}" fill="{colour}"/>'
        )
    ticks = range(1, len(scores) + 1, max(1, math.ceil(len(scores) / 20)))
    return _svg(axes.frame(x_label, list(ticks)) + "".join(bars))


def _curve_chart(
    seconds: Sequence[float],
    values: Sequence[float],
    bands: Sequence[tuple[list[float], list[float], list[float], list[float]]],
    x_label: str,
) -> str:
    """One channel: the recording (blue) and per rep the band (x, lower, upper) and
    the reference mean (green)."""
    finite = [v for v in values if math.isfinite(v)]
    for _, lo, hi, _ in bands:
        finite += [v for v in lo + hi if math.isfinite(v)]
    lo_y, hi_y = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = 0.08 * (hi_y - lo_y or 1.0)
    xs_all = list(seconds) + [x for b in bands for x in b[0]]
    axes = _Axes(min(xs_all), max(xs_all), lo_y - pad, hi_y + pad)
    parts = [axes.frame(x_label)]
    for xs, lo, hi, mean in bands:
        ring = [(x, y) for x, y in zip(xs, hi, strict=True)]
        ring += [(x, y) for x, y in zip(reversed(xs), reversed(lo), strict=True)]
        points = " ".join(f"{axes.x(x):.1f},{axes.y(y):.1f}" for x, y in ring)
        parts.append(f'<polygon points="{points}" fill="rgba(44,160,44,0.2)"/>')
        parts.append(
            f'<path d="{_path(axes, xs, mean)}" fill="none" stroke="#2ca02c" '
            'stroke-width="1.5" stroke-dasharray="5 4"/>'
        )
    parts.append(
        f'<path d="{_path(axes, seconds, values)}" fill="none" stroke="#1f77b4" '
        'stroke-width="2"/>'
    )
    return _svg("".join(parts))


def _bands(
    band: dict[str, Any], channel: str, analysis: Analysis, t0_ms: float, elder: bool
) -> list[tuple[list[float], list[float], list[float], list[float]]]:
    ch = band["channels"].get(channel)
    if ch is None:
        return []
    span = (band.get("elder_span") if elder else band.get("span")) or [0.0, 1.0]
    width = max(1e-3, span[1] - span[0])
    out = []
    for rep in analysis.reps:
        start = rep.timestamp_ms - rep.duration_ms
        xs = [
            (start + (u - span[0]) / width * rep.duration_ms - t0_ms) / 1000
            for u in band["t"]
        ]
        out.append((xs, list(ch["lower"]), list(ch["upper"]), list(ch["mean"])))
    return out


def render_report(
    *,
    spec: ExerciseSpec,
    window: PoseWindow,
    analysis: Analysis,
    source: str,
    lang: str = "en",
) -> str:
    """The report's HTML (see the module docstring)."""
    from server.api.sessions import spec_band

    text = TEXTS[lang]
    s = analysis.summary
    ts = np.asarray(window.timestamp_ms, np.float64)
    t0 = float(ts[0]) if len(ts) else 0.0
    seconds = f"{(float(ts[-1]) - t0) / 1000:.1f}" if len(ts) else "0"
    frames = text["frames"].format(
        n=len(window), s=seconds, aspect=f"{window.aspect_wh:.2f}"
    )
    out = [
        f'<!doctype html><html lang="{_esc(lang)}"><head><meta charset="utf-8">',
        f"<title>{_esc(text['title'])}: {_esc(spec.name[lang])}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{_esc(text['title'])}: {_esc(spec.name[lang])}</h1>",
        f'<p class="muted">{_esc(text["source"])}: {_esc(source)} · {_esc(frames)}</p>',
        f'<p>{_esc(text["reps"])}: <strong id="reps">{s.reps}</strong> · '
        f'{_esc(text["mean_score"])}: <strong id="mean-score">'
        f"{_fmt(s.mean_score)}</strong></p>",
        f"<h2>{_esc(text['scores'])}</h2>",
    ]
    if analysis.reps:
        chart = _score_chart([r.score for r in analysis.reps], text["rep"])
        out.append(f'<figure id="scores">{chart}</figure>')
        head = ("rep", "score", "duration", "rom", "cues")
        out.append(
            '<table id="reps-table"><thead><tr>'
            + "".join(f"<th>{_esc(text[k])}</th>" for k in head)
            + "</tr></thead><tbody>"
        )
        for r in analysis.reps:
            rom = ", ".join(f"{k} {v:.0f}" for k, v in r.range_of_motion_deg.items())
            flag = f" ({text['partial']})" if r.partial else ""
            cells = (
                f"{r.count}{flag}",
                _fmt(r.score),
                _fmt(r.duration_ms / 1000, 2),
                rom or "–",
                ", ".join(r.cue_ids) or "–",
            )
            out.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>")
        out.append("</tbody></table>")
    else:
        out.append(f'<p class="muted">{_esc(text["no_reps"])}</p>')
    out.append(f"<h2>{_esc(text['curves'])}</h2>")
    band_info = spec_band(spec)
    band = None if band_info is None else band_info.get("reference")
    explain = text["curves_explain"] if band else text["no_band"]
    out.append(f'<p class="muted">{_esc(explain)}</p>')
    trace = channel_trace(window, spec, elder_mode=s.elder_mode)
    secs = [(float(t) - t0) / 1000 for t in trace.timestamp_ms]
    channels = [c for c in trace.channels if band is None or c in band["channels"]]
    for k, name in enumerate(trace.channels):
        if name not in channels:
            continue
        values = [float(v) for v in trace.values[:, k]]
        bands = [] if band is None else _bands(band, name, analysis, t0, s.elder_mode)
        out.append(
            f'<figure class="curve" data-channel="{_esc(name)}"><figcaption>'
            f"{_esc(name)}</figcaption>"
            f"{_curve_chart(secs, values, bands, text['time'])}</figure>"
        )
    out.append("</body></html>")
    return "\n".join(out)


def write_report(path: Path, **kw: Any) -> None:
    """Write `render_report(**kw)` to `path` (UTF-8).

    Raises:
        ValueError: `path` does not end in .html or .htm.
        OSError: it cannot be written.
    """
    if path.suffix.lower() not in REPORT_SUFFIXES:
        raise ValueError(
            f"expected a report path ending in {' or '.join(REPORT_SUFFIXES)}, "
            f"got {path.name!r}"
        )
    path.write_text(render_report(**kw), encoding="utf-8")

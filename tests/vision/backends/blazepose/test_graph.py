"""vision/backends/blazepose/graph.py: pruning an ONNX graph to the outputs read."""

from __future__ import annotations

import numpy as np
import pytest

import models
from vision.backends.blazepose import graph

_enc = graph._encode


def _node(name: str, inputs: list[str], outputs: list[str]) -> bytes:
    fields = [_enc(1, i.encode()) for i in inputs] + [
        _enc(2, o.encode()) for o in outputs
    ]
    return _enc(1, b"".join(fields) + _enc(3, name.encode()) + _enc(4, b"Relu"))


def _model() -> bytes:
    """x -> A -> a -> B -> out1; x, w -> C -> c -> D -> out2 (ir_version 8 first)."""
    nodes = [
        _node("A", ["x"], ["a"]),
        _node("C", ["x", "w"], ["c"]),
        _node("B", ["a"], ["out1"]),
        _node("D", ["c"], ["out2"]),
    ]
    body = b"".join(nodes) + _enc(2, b"g") + _enc(5, _enc(8, b"w"))
    body += _enc(11, _enc(1, b"x"))
    body += _enc(12, _enc(1, b"out1")) + _enc(12, _enc(1, b"out2"))
    body += _enc(13, _enc(1, b"a")) + _enc(13, _enc(1, b"c"))
    return b"\x08\x08" + _enc(7, body) + _enc(2, b"producer")


def _graph_parts(model: bytes) -> dict[int, list[list[str]]]:
    """Field number -> the names each entry carries (node: its name; others: name)."""
    body = next(graph._payload(r) for n, _, r in graph._fields(model) if n == 7)
    parts: dict[int, list[list[str]]] = {}
    for number, _, raw in graph._fields(body):
        if number in (1, 11, 12, 13, 5):
            key = {1: 3, 11: 1, 12: 1, 13: 1, 5: 8}[number]
            parts.setdefault(number, []).append(
                graph._strings(graph._payload(raw), key)
            )
    return parts


@pytest.mark.parametrize(
    ("keep", "nodes", "outputs", "initializers", "value_infos"),
    [
        pytest.param(["out1"], ["A", "B"], ["out1"], [], ["a"], id="first"),
        pytest.param(["out2"], ["C", "D"], ["out2"], ["w"], ["c"], id="second"),
        pytest.param(
            ["out2", "out1"],
            ["A", "C", "B", "D"],
            ["out1", "out2"],
            ["w"],
            ["a", "c"],
            id="both",
        ),
    ],
)
def test_prune_keeps_what_the_outputs_need(
    keep: list[str],
    nodes: list[str],
    outputs: list[str],
    initializers: list[str],
    value_infos: list[str],
) -> None:
    model = _model()
    pruned = graph.prune_outputs(model, keep)
    parts = _graph_parts(pruned)
    assert [n[0] for n in parts.get(1, [])] == nodes
    assert [n[0] for n in parts.get(12, [])] == outputs
    assert [n[0] for n in parts.get(5, [])] == initializers
    assert [n[0] for n in parts.get(13, [])] == value_infos
    assert [n[0] for n in parts[11]] == ["x"]
    # Fields outside the graph are kept as they were, in order.
    assert pruned.startswith(b"\x08\x08") and pruned.endswith(_enc(2, b"producer"))
    if len(keep) == 2:
        assert pruned == model


@pytest.mark.parametrize(
    ("model", "outputs", "message"),
    [
        pytest.param(
            _model(),
            ["out3"],
            "unknown output(s) out3; the graph's outputs: out1, out2",
        ),
        pytest.param(b"\x08\x08", ["out1"], "expected one graph in the model, got 0"),
        pytest.param(_model()[:-3], ["out1"], "truncated"),
        pytest.param(b"\x0b", ["out1"], "wire type 0, 1, 2 or 5, got 3"),
    ],
    ids=["unknown-output", "no-graph", "truncated", "bad-wire-type"],
)
def test_prune_errors(model: bytes, outputs: list[str], message: str) -> None:
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        graph.prune_outputs(model, outputs)


@pytest.mark.model
def test_the_pruned_landmark_model_gives_the_same_outputs() -> None:
    """The landmark model without its segmentation and world-landmark heads: the
    outputs the pipeline reads are bit-identical, and fewer nodes run."""
    from vision.backends.blazepose.runtime import LANDMARK_OUTPUTS, onnxruntime_module

    path = models.MODELS_DIR / "pose_landmark_full.onnx"
    if not path.is_file():
        pytest.skip("model absent")
    ort = onnxruntime_module()
    full_bytes = path.read_bytes()
    pruned_bytes = graph.prune_outputs(full_bytes, LANDMARK_OUTPUTS)
    full, pruned = (
        ort.InferenceSession(b, providers=["CPUExecutionProvider"])
        for b in (full_bytes, pruned_bytes)
    )
    assert [o.name for o in full.get_outputs()] == [
        "Identity",
        "Identity_1",
        "Identity_2",
        "Identity_3",
        "Identity_4",
    ]
    assert [o.name for o in pruned.get_outputs()] == list(LANDMARK_OUTPUTS)
    assert len(_graph_parts(pruned_bytes)[1]) < len(_graph_parts(full_bytes)[1])
    x = np.random.default_rng(0).random((2, 3, 256, 256), np.float32)
    name = full.get_inputs()[0].name
    want = full.run(list(LANDMARK_OUTPUTS), {name: x})
    got = pruned.run(None, {name: x})
    for w, g in zip(want, got, strict=True):
        np.testing.assert_array_equal(g, w)

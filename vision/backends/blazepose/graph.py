"""Keep only what the pipeline reads of an ONNX model: `prune_outputs(model_bytes,
outputs)` drops the other graph outputs and every node that only they need.

The landmark model computes a 256x256 segmentation mask and world landmarks that the
pipeline never reads; ONNX Runtime runs every node of a graph whatever outputs a call
asks for (by its profiler, the segmentation branch was about a quarter of the model's
time on CPU: pruned, the landmark model took 9.8 instead of 17.1 ms of CPU per crop on
the 2-core box, outputs bit-identical). MediaPipe Tasks runs the whole TFLite graph.

Works on the protobuf wire format directly (no `onnx` package needed): ModelProto
field 7 is the graph; in GraphProto, field 1 holds the nodes (in topological order, as
ONNX requires), 5 the initializers, 12 the outputs, 13 value infos; a node's inputs
and outputs are its fields 1 and 2, a value info's or tensor's name its field 1 or 8.
Pure (edge module, no I/O): bytes in, bytes out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

__all__ = ["prune_outputs"]

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_MODEL_GRAPH: Final = 7
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_OUTPUT, _GRAPH_VALUE_INFO = 1, 5, 12, 13
_NODE_INPUT, _NODE_OUTPUT = 1, 2
_VALUE_INFO_NAME, _TENSOR_NAME = 1, 8

_Field = tuple[int, int, bytes]  # field number, wire type, the field's encoded bytes


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> Iterator[_Field]:
    """Each field of one message, with its whole encoding (key included)."""
    pos = 0
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        number, kind = key >> 3, key & 7
        if kind == _VARINT:
            _, pos = _varint(data, pos)
        elif kind == _I64:
            pos += 8
        elif kind == _I32:
            pos += 4
        elif kind == _LEN:
            size, pos = _varint(data, pos)
            pos += size
        else:
            raise ValueError(f"expected a protobuf wire type 0, 1, 2 or 5, got {kind}")
        if pos > len(data):
            raise ValueError("expected a whole protobuf message, got a truncated one")
        yield number, kind, data[start:pos]


def _payload(encoded: bytes) -> bytes:
    """The bytes of a length-delimited field, without its key and length."""
    _, pos = _varint(encoded, 0)
    size, pos = _varint(encoded, pos)
    return encoded[pos : pos + size]


def _encode(number: int, payload: bytes) -> bytes:
    out = bytearray()
    for value in ((number << 3) | _LEN, len(payload)):
        while value >= 0x80:
            out.append((value & 0x7F) | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out) + payload


def _strings(message: bytes, number: int) -> list[str]:
    return [
        _payload(raw).decode()
        for n, kind, raw in _fields(message)
        if n == number and kind == _LEN
    ]


def prune_outputs(model: bytes, outputs: Iterable[str]) -> bytes:
    """An ONNX model (serialized ModelProto) with only `outputs` as graph outputs and
    only the nodes and initializers they need.

    Args:
        model: The model file's bytes.
        outputs: Graph outputs to keep.

    Returns:
        The pruned model's bytes (the same model when it needs everything).

    Raises:
        ValueError: an output is not one of the graph's, or the bytes are not a
            protobuf message.
    """
    keep_outputs = set(outputs)
    model_fields = list(_fields(model))
    graphs = [
        raw for n, kind, raw in model_fields if n == _MODEL_GRAPH and kind == _LEN
    ]
    if len(graphs) != 1:
        raise ValueError(f"expected one graph in the model, got {len(graphs)}")
    graph = list(_fields(_payload(graphs[0])))
    names = {
        _strings(_payload(raw), _VALUE_INFO_NAME)[0]: raw
        for n, _, raw in graph
        if n == _GRAPH_OUTPUT
    }
    unknown = sorted(keep_outputs - set(names))
    if unknown:
        raise ValueError(
            f"unknown output(s) {', '.join(unknown)}; the graph's outputs: "
            f"{', '.join(names)}"
        )
    # Walk the nodes backwards from the kept outputs (they are in topological order).
    needed = set(keep_outputs)
    kept_nodes: set[int] = set()
    for index in range(len(graph) - 1, -1, -1):
        number, _, raw = graph[index]
        if number != _GRAPH_NODE:
            continue
        node = _payload(raw)
        if needed & set(_strings(node, _NODE_OUTPUT)):
            kept_nodes.add(index)
            needed |= set(_strings(node, _NODE_INPUT))
    pruned = bytearray()
    for index, (number, _, raw) in enumerate(graph):
        if number == _GRAPH_NODE and index not in kept_nodes:
            continue
        if number == _GRAPH_OUTPUT and not (
            set(_strings(_payload(raw), _VALUE_INFO_NAME)) & keep_outputs
        ):
            continue
        if number == _GRAPH_INITIALIZER and not (
            set(_strings(_payload(raw), _TENSOR_NAME)) & needed
        ):
            continue
        if number == _GRAPH_VALUE_INFO and not (
            set(_strings(_payload(raw), _VALUE_INFO_NAME)) & needed
        ):
            continue
        pruned += raw
    out = bytearray()
    for number, _, raw in model_fields:
        out += _encode(_MODEL_GRAPH, bytes(pruned)) if number == _MODEL_GRAPH else raw
    return bytes(out)

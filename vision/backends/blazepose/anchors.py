"""SSD anchors of the BlazePose detector, as MediaPipe's `SsdAnchorsCalculator`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from vision.backends.blazepose._common import DETECTOR_INPUT_SIZE, F32

__all__ = ["POSE_ANCHORS", "AnchorOptions", "generate_anchors"]


@dataclass(frozen=True, slots=True)
class AnchorOptions:
    """MediaPipe `SsdAnchorsCalculatorOptions` (defaults: BlazePose's detector)."""

    input_size_wh: tuple[int, int] = (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE)
    min_scale: float = 0.1484375
    max_scale: float = 0.75
    anchor_offset_xy: tuple[float, float] = (0.5, 0.5)
    strides: tuple[int, ...] = (8, 16, 32, 32, 32)
    aspect_ratios: tuple[float, ...] = (1.0,)
    interpolated_scale_aspect_ratio: float = 1.0
    fixed_anchor_size: bool = True
    reduce_boxes_in_lowest_layer: bool = False


POSE_ANCHORS: Final[AnchorOptions] = AnchorOptions()


def _anchor_scale(options: AnchorOptions, index: int) -> float:
    n = len(options.strides)
    if n == 1:
        return (options.min_scale + options.max_scale) * 0.5
    return options.min_scale + (options.max_scale - options.min_scale) * index / (n - 1)


def generate_anchors(options: AnchorOptions = POSE_ANCHORS) -> F32:
    """SSD anchors exactly as MediaPipe's `SsdAnchorsCalculator` lays them out.

    Consecutive layers with the same stride share one feature map; each cell holds the
    anchors of all those layers, cells run row by row, layers from fine to coarse.

    Args:
        options: Anchor parameters.

    Returns:
        (A, 4) float32 [x_center, y_center, w, h], normalized to the detector input
        (A = 2254 for BlazePose: 28x28x2 + 14x14x2 + 7x7x6).
    """
    strides = options.strides
    rows: list[tuple[float, float, float, float]] = []
    layer = 0
    while layer < len(strides):
        heights: list[float] = []
        widths: list[float] = []
        ratios: list[float] = []
        scales: list[float] = []
        last = layer
        while last < len(strides) and strides[last] == strides[layer]:
            scale = _anchor_scale(options, last)
            if last == 0 and options.reduce_boxes_in_lowest_layer:
                ratios += [1.0, 2.0, 0.5]
                scales += [0.1, scale, scale]
            else:
                for ratio in options.aspect_ratios:
                    ratios.append(ratio)
                    scales.append(scale)
                if options.interpolated_scale_aspect_ratio > 0.0:
                    nxt = (
                        1.0
                        if last == len(strides) - 1
                        else _anchor_scale(options, last + 1)
                    )
                    scales.append(math.sqrt(scale * nxt))
                    ratios.append(options.interpolated_scale_aspect_ratio)
            last += 1
        for ratio, scale in zip(ratios, scales, strict=True):
            heights.append(scale / math.sqrt(ratio))
            widths.append(scale * math.sqrt(ratio))
        stride = strides[layer]
        fm_h = math.ceil(options.input_size_wh[1] / stride)
        fm_w = math.ceil(options.input_size_wh[0] / stride)
        for y in range(fm_h):
            for x in range(fm_w):
                cx = (x + options.anchor_offset_xy[0]) / fm_w
                cy = (y + options.anchor_offset_xy[1]) / fm_h
                for w, h in zip(widths, heights, strict=True):
                    if options.fixed_anchor_size:
                        rows.append((cx, cy, 1.0, 1.0))
                    else:
                        rows.append((cx, cy, w, h))
        layer = last
    return np.asarray(rows, np.float32).reshape(-1, 4)

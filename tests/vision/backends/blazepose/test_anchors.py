"""vision/backends/blazepose/anchors.py: the SSD anchor layout."""

from __future__ import annotations

import math

import numpy as np
import numpy.testing as npt

from vision.backends import blazepose as ob


def test_anchor_count_and_layout() -> None:
    anchors = ob.generate_anchors()
    # 28x28 cells x 2 (stride 8) + 14x14 x 2 (stride 16) + 7x7 x 6 (3 layers, stride 32)
    assert anchors.shape == (28 * 28 * 2 + 14 * 14 * 2 + 7 * 7 * 6, 4) == (2254, 4)
    assert anchors.dtype == np.float32
    npt.assert_array_equal(anchors[:, 2:], 1.0)  # fixed_anchor_size
    # Row-major cells, the anchors of one cell adjacent.
    npt.assert_allclose(anchors[0, :2], [0.5 / 28, 0.5 / 28])
    npt.assert_allclose(anchors[1, :2], [0.5 / 28, 0.5 / 28])
    npt.assert_allclose(anchors[2, :2], [1.5 / 28, 0.5 / 28])
    npt.assert_allclose(anchors[2 * 28, :2], [0.5 / 28, 1.5 / 28])
    npt.assert_allclose(anchors[1568, :2], [0.5 / 14, 0.5 / 14])  # first stride-16
    npt.assert_allclose(anchors[1960:1966, :2], [[0.5 / 7, 0.5 / 7]] * 6)
    npt.assert_allclose(anchors[1966, :2], [1.5 / 7, 0.5 / 7])
    npt.assert_allclose(anchors[-1, :2], [6.5 / 7, 6.5 / 7])


def test_anchor_sizes_without_fixed_size() -> None:
    anchors = ob.generate_anchors(ob.AnchorOptions(fixed_anchor_size=False))
    s0 = 0.1484375
    s1 = 0.1484375 + (0.75 - 0.1484375) * 1 / 4  # scale of layer 1 (5 layers)
    npt.assert_allclose(anchors[0, 2:], [s0, s0], rtol=1e-6)
    npt.assert_allclose(anchors[1, 2:], [math.sqrt(s0 * s1)] * 2, rtol=1e-6)
    # The last layer interpolates towards scale 1.0.
    npt.assert_allclose(anchors[-1, 2:], [math.sqrt(0.75 * 1.0)] * 2, rtol=1e-6)

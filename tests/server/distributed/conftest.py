"""Fixtures of the distributed tests: the curl clip as JPEGs; Ray imported once.

Ray 2.60's `ray.serve` declares its config models with pydantic-v1-style `Field(...,
update_type=...)` keywords, which pydantic 2 reports with one
`PydanticDeprecatedSince20` warning per field when the module is imported. That is
Ray's code, not ours, and `filterwarnings = error` would turn the import into a failure,
so `ray.serve` is imported here once with exactly that warning ignored.
"""

from __future__ import annotations

import warnings

import pytest

from tests.server.distributed.clips import curl_clip_jpegs

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore",
        message=r"Using extra keyword arguments on `Field` is deprecated",
        module=r"ray\..*|pydantic\..*",
    )
    try:
        import ray.serve  # noqa: F401
    except ImportError:  # the distributed extra is not installed: Ray tests skip
        pass


@pytest.fixture
def curl_jpegs() -> tuple[bytes, ...]:
    """Every frame of the shared one-curl clip (67 frames, 30 fps), JPEG-encoded."""
    return curl_clip_jpegs()

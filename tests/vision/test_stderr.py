"""Native stderr capture: text written to fd 2 is captured, and fd 2 comes back."""

from __future__ import annotations

import os

import pytest

from vision._stderr import captured_native_stderr


def test_captures_fd2_and_restores(capfd: pytest.CaptureFixture[str]) -> None:
    with captured_native_stderr() as log:
        os.write(2, b"[mov @ 0x1] moov atom not found\n")
        assert log == []  # filled when the block ends
    os.write(2, b"after\n")
    assert log == ["[mov @ 0x1] moov atom not found\n"]
    assert capfd.readouterr().err == "after\n"


def test_restores_on_error(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RuntimeError), captured_native_stderr() as log:
        os.write(2, b"noise\n")
        raise RuntimeError("boom")
    os.write(2, b"visible\n")
    assert log == ["noise\n"]
    assert capfd.readouterr().err == "visible\n"

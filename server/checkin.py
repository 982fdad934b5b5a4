"""QR check-in at the kiosk: while no session is open, the kiosk socket looks for a
member card's QR code in the camera frames it is sent (`scan` message), a few frames a
second, and checks the resident in or says why the code checks nobody in.

One `QrScanner` per socket (its own `vision.qr.QrReader`: the reader is not
thread-safe). A frame is scanned when at least `SCAN_INTERVAL_MS` of capture time
passed since the last one scanned; while one is being read, newer frames replace each
other (the latest wins), so a slow read never queues frames. Reading and the database
lookup run off the event loop. A decoded text goes through
`server.members.lookup_member` (the kiosk's failure limit, shared with the keypad).

Replies: `member_checked_in` (and scanning stops), or `check_in_refused` with the
problem and its words in both languages; the same refusal is not repeated within
`REPEAT_REFUSAL_MS`, so a card held up for a while gets one answer, not one per frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final

import cv2
import numpy as np

from exercises.member_tokens import CHECK_IN_MESSAGES, CheckInProblem
from server.api._errors import PAGE_ERROR_MESSAGES
from server.failures import log_repeated_failure
from server.members import LookupProblem, Who, lookup_member
from server.schemas import (
    CheckedInResident,
    CheckInRefusedMessage,
    MemberCheckedInMessage,
)
from server.store import repository
from vision.qr import QrReader, QrStatus

if TYPE_CHECKING:
    from pydantic import BaseModel
    from starlette.datastructures import State

    from server.store import Store

__all__ = ["REPEAT_REFUSAL_MS", "SCAN_INTERVAL_MS", "QrScanner", "Verdict"]

log = logging.getLogger(__name__)

SCAN_INTERVAL_MS: Final[int] = 300
"""At most one frame every this much capture time is read (about 3 a second): a read
takes 25-170 ms of a shared CPU (vision/qr.py)."""
REPEAT_REFUSAL_MS: Final[int] = 3000
"""The same refusal is said again only after this long."""

Verdict = MemberCheckedInMessage | CheckInRefusedMessage


def _refusal(problem: str) -> CheckInRefusedMessage:
    words = (
        PAGE_ERROR_MESSAGES["too_many_attempts"]
        if problem == LookupProblem.TOO_MANY
        else CHECK_IN_MESSAGES[CheckInProblem(problem)]
    )
    return CheckInRefusedMessage(problem=str(problem), message=dict(words))


class QrScanner:
    """One kiosk socket's check-in scanner (see the module docstring).

    Args:
        store: The records database.
        state: The app's state (the member lookup's failure limit).
        who: The socket's kiosk (None: no kiosk auth, the only centre) and address,
            whose failures count together.
        send: Sends a reply on the socket.
    """

    def __init__(
        self,
        store: Store,
        state: State,
        who: Who,
        send: Callable[[BaseModel], Awaitable[bool]],
    ) -> None:
        self.store = store
        self.state = state
        self.who = who
        self.send = send
        self.reader = QrReader()
        self.done = False
        self.scanned = 0
        self._last_scanned_ms: int | None = None
        self._pending: tuple[int, bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_refusal: tuple[str, int] | None = None

    def offer(self, timestamp_ms: int, jpeg: bytes) -> None:
        """A camera frame: read it if it is due, keep it if a read is running."""
        if self.done:
            return
        last = self._last_scanned_ms
        if last is not None and 0 <= timestamp_ms - last < SCAN_INTERVAL_MS:
            return
        if self._task is not None and not self._task.done():
            self._pending = (timestamp_ms, jpeg)
            return
        self._start(timestamp_ms, jpeg)

    def _start(self, timestamp_ms: int, jpeg: bytes) -> None:
        self._last_scanned_ms = timestamp_ms
        self._task = asyncio.get_running_loop().create_task(
            self._scan(timestamp_ms, jpeg), name="qr-scan"
        )

    async def stop(self) -> None:
        """Stop scanning (a session opens, the kiosk says so, the socket closes)."""
        self.done = True
        self._pending = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _scan(self, timestamp_ms: int, jpeg: bytes) -> None:
        try:
            verdict = await asyncio.to_thread(self.verdict, jpeg)
        except Exception as exc:
            log_repeated_failure(
                log, exc, "check-in scan of frame %d failed", timestamp_ms
            )
            verdict = None
        self.scanned += 1
        if verdict is not None and not self.done:
            if isinstance(verdict, MemberCheckedInMessage):
                self.done = True
                await self.send(verdict)
            elif self._new_refusal(verdict, timestamp_ms):
                await self.send(verdict)
        pending, self._pending = self._pending, None
        if pending is not None and not self.done:
            self._start(*pending)

    def _new_refusal(self, refusal: CheckInRefusedMessage, timestamp_ms: int) -> bool:
        last = self._last_refusal
        if (
            last is not None
            and last[0] == refusal.problem
            and 0 <= timestamp_ms - last[1] < REPEAT_REFUSAL_MS
        ):
            return False
        self._last_refusal = (refusal.problem, timestamp_ms)
        return True

    def verdict(self, jpeg: bytes) -> Verdict | None:
        """Read one JPEG frame and look up what it shows (blocking): a check-in, a
        refusal, or None when no code is in view."""
        frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
        if frame is None:
            return None
        reading = self.reader.read(np.ascontiguousarray(frame, dtype=np.uint8))
        if reading.status is QrStatus.NONE:
            return None
        if reading.status is QrStatus.UNREADABLE or reading.text is None:
            return _refusal(CheckInProblem.UNREADABLE)
        with self.store.session() as db:
            centre_id = repository.kiosk_centre_id(db, self.who.kiosk_id)
            if centre_id is None:
                return _refusal(CheckInProblem.UNKNOWN)
            found = lookup_member(
                db, self.state, self.who, centre_id=centre_id, token=reading.text
            )
            if found.resident is None:
                assert found.problem is not None
                return _refusal(found.problem)
            return MemberCheckedInMessage(
                resident=CheckedInResident(
                    member_code=found.resident.member_code,
                    display_name=found.resident.display_name,
                )
            )

"""A COPY writer that sends from a thread while the caller encodes, a few chunks ahead.

psycopg's ``QueuedLibpqWriter`` does the same with a queue of up to 1,024 buffers: a
DataFrame encoded faster than the network takes it would sit in that queue almost whole
(measured: the peak was the size of the whole encoded stream). Here the caller waits once
``ahead`` chunks are queued, so memory stays at a few chunks whatever the frame's size.
"""

from __future__ import annotations

from queue import Queue
from threading import Thread
from typing import Any

from psycopg.copy import LibpqWriter

Buffer = bytes | bytearray | memoryview


class BoundedQueuedWriter(LibpqWriter):
    def __init__(self, cursor: Any, ahead: int = 2) -> None:
        super().__init__(cursor)
        self._chunks: Queue[Buffer | None] = Queue(maxsize=ahead)
        self._error: BaseException | None = None
        self._thread: Thread | None = None

    def _send(self) -> None:
        while (data := self._chunks.get()) is not None:
            if self._error is None:  # after an error keep taking chunks: put() must not block
                try:
                    super().write(data)
                except BaseException as exc:
                    self._error = exc

    def write(self, data: Buffer) -> None:
        if self._thread is None:
            self._thread = Thread(target=self._send, name="backtest_store COPY", daemon=True)
            self._thread.start()
        if self._error is not None:
            raise self._error
        self._chunks.put(data)

    def finish(self, exc: BaseException | None = None) -> None:
        if self._thread is not None:
            self._chunks.put(None)
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        super().finish(exc)

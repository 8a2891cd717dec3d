"""Stopping a batch: Ctrl-C and SIGTERM (``kill``, systemd, a CI timeout) both stop it the same way.

The signal raises KeyboardInterrupt wherever the main thread is, as Python does by default, so a batch waiting
on a pool or on a full stderr pipe stops at once. But compiled code that Python calls back into may swallow that
exception: pydantic-core's serializer, interrupted inside an ``isinstance`` check while building a worker's task,
takes the exception for a plain "no" and goes on, and the batch then ran to its end and exited 0. So the request
is also remembered, and ``raise_if_stopped`` raises it again at the next file (``batch.run`` calls it once a file).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Any, Iterator

_requested = threading.Event()


def _stop(signum: int, frame: Any) -> None:
    _requested.set()
    raise KeyboardInterrupt


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """While in the block, Ctrl-C and SIGTERM stop the batch (KeyboardInterrupt, now and at the next file).

    A Ctrl-C the process was started to ignore (``cmd &`` in a script: SIGINT inherited as ignored) stays ignored,
    as Python leaves it. Main thread only (signal handlers can be set nowhere else)."""
    signals = [signal.SIGTERM]
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signals.append(signal.SIGINT)
    previous = {sig: signal.signal(sig, _stop) for sig in signals}
    _requested.clear()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()


def raise_if_stopped() -> None:
    """Raise KeyboardInterrupt if a stop was asked for since ``stop_on_signals`` began (one the code that was
    running then may have swallowed)."""
    if _requested.is_set():
        raise KeyboardInterrupt


def leave_if_pool_killed(exc: BaseException, code: int) -> None:
    """After a stop that killed a worker pool (``batch.execute`` marks the exception ``pool_terminated``): leave at
    once with ``code``. A worker killed while sending its result leaves half a message in the pool's pipe, and the
    interpreter's exit would join the pool's manager thread forever. Every saved call is committed by then."""
    if getattr(exc, "pool_terminated", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)

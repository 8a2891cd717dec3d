"""A real `compliance serve` on 127.0.0.1 and a free port, for the browser and load tests (stopped in finally)."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

from .conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(db: Path, *extra: str, timeout: float = 30.0) -> Iterator[str]:
    """Start the real command in its own process; yield its base URL; stop it (and wait for it) afterwards."""
    port = free_port()
    cmd = [sys.executable, "-c", "from compliance.cli import main; main()", "serve", "--db", str(db),
           "--host", "127.0.0.1", "--port", str(port), *extra]
    # The server's own words go to a file, not a pipe nobody reads while it runs (a full pipe would stall it); a
    # test that fails shows their end.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def said() -> str:
        log.seek(0)
        return log.read().decode(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(base + "/login", timeout=2) as res:
                    if res.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"compliance serve did not start: {said()[-2000:]}")
            time.sleep(0.1)
        try:
            yield base
        except BaseException:
            print(f"compliance serve said:\n{said()}", file=sys.stderr)
            raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

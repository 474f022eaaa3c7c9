"""Servers the tests start on loopback: a free port to give one, and `fhir-server serve` as a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(environment: dict) -> subprocess.Popen:
    """`fhir-server serve` with ``environment`` (FHIR_SERVER_PORT among it), once it answers on /fhir/metadata; in a
    process group of its own, with its worker, so that :func:`kill` can kill them both."""
    process = subprocess.Popen([sys.executable, "-m", "fhir_server.cli", "serve", "--workers", "1"], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{environment['FHIR_SERVER_PORT']}/fhir/metadata",
                                        timeout=5):
                return process
        except OSError:
            assert process.poll() is None, process.stdout.read().decode()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)


def kill(process: subprocess.Popen) -> None:
    """Kill a server as a crash would, its worker with it: granian's worker outlives a killed main process, and
    would go on with what it was doing."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)

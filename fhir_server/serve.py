"""`fhir-server serve`: the app under granian, a production WSGI server with its HTTP core in Rust.

Measured on 2 cores, granian served reads 35% faster than gunicorn's threaded workers with a
third of the p99 latency (see README); both keep connections alive.
"""

from __future__ import annotations

import ipaddress
import logging
import os

from granian import Granian
from granian.constants import Interfaces

from fhir_server.settings import Settings

log = logging.getLogger(__name__)


def serve(settings: Settings) -> None:
    if settings.auth not in ("on", "off"):
        raise SystemExit(f"FHIR_SERVER_AUTH must be on or off, not {settings.auth!r}")
    if settings.auth == "off":
        if not _is_loopback(settings.host):
            raise SystemExit(f"refusing to serve {settings.host} with authentication off: anyone on the network could "
                             "read every record; set FHIR_SERVER_AUTH=on (see README, Authentication)")
        log.warning("authentication is off: every client on this machine may read and change every record")
    workers = settings.workers or os.cpu_count() or 1
    log.info("serving FHIR R4 at http://%s:%s/fhir with %d workers", settings.host, settings.port, workers)
    Granian(
        # A factory, so each worker process builds its own app and database pool after it starts.
        "fhir_server.app:create_app",
        factory=True,
        interface=Interfaces.WSGI,
        address=settings.host,
        port=settings.port,
        workers=workers,
        blocking_threads=settings.threads,
        respawn_failed_workers=True,
        # Bounds shutdown: granian otherwise waits forever for a worker that was still starting.
        workers_kill_timeout=settings.shutdown_timeout_seconds,
        log_level=settings.log_level.lower(),
        log_access=False,  # an access log would hold search query strings: patient names, identifiers
    ).serve()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

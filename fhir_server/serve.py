"""`fhir-server serve`: the app under gunicorn, with worker processes and keep-alive threads."""

from __future__ import annotations

import logging
import os

from gunicorn.app.base import BaseApplication

from fhir_server.settings import Settings

log = logging.getLogger(__name__)


class _Server(BaseApplication):
    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self):
        workers = self.settings.workers or (os.cpu_count() or 1) + 1
        self.cfg.set("bind", f"{self.settings.host}:{self.settings.port}")
        self.cfg.set("workers", workers)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", self.settings.threads)
        self.cfg.set("keepalive", 30)
        self.cfg.set("timeout", 300)  # a 10,000-entry transaction takes seconds, not minutes
        self.cfg.set("loglevel", self.settings.log_level.lower())

    def load(self):
        # Each worker builds its own app, so no database connection crosses a fork.
        from fhir_server.app import create_app

        return create_app(self.settings)


def serve(settings: Settings) -> None:
    log.info("serving FHIR R4 at http://%s:%s/fhir", settings.host, settings.port)
    _Server(settings).run()

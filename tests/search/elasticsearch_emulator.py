"""An Elasticsearch stand-in for the tests: the in-memory OpenSearch-compatible engine of the PyPI
package `osmem-server`, behind a loopback proxy that speaks the Elasticsearch client's dialect.

The official client sends versioned media types (``application/vnd.elasticsearch+json;
compatible-with=9``) and checks that answers carry ``X-Elastic-Product: Elasticsearch``; the
emulator refuses the first and sends the second only on some answers. The proxy rewrites both ways and forwards
everything else untouched. Nothing of this is product code: a real cluster needs no proxy.
"""

from __future__ import annotations

import http.client
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from osmem_server import OsmemServer

_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host"})
_SET_HERE = frozenset({"date", "server", "x-elastic-product"})


def _plain(media_type: str) -> str:
    """``application/vnd.elasticsearch+x-ndjson; compatible-with=9`` -> ``application/x-ndjson``."""
    if "vnd.elasticsearch+" not in media_type:
        return media_type
    return "application/" + media_type.split("vnd.elasticsearch+", 1)[1].split(";")[0].strip()


class _Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: without this, 40 ms per answer
    upstream: tuple[str, int]

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        self.server.authorizations.append(self.headers.get("Authorization"))
        if self.server.unreachable:  # hang up without an answer, as a cluster that went away
            self.close_connection = True
            return
        headers = {name: (_plain(value) if name.lower() in ("accept", "content-type") else value)
                   for name, value in self.headers.items() if name.lower() not in _HOP_BY_HOP}
        connection = http.client.HTTPConnection(*self.upstream, timeout=120)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
        finally:
            connection.close()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in _HOP_BY_HOP | _SET_HERE:
                self.send_header(name, value)
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

    def log_message(self, *args) -> None:
        pass


class Emulator:
    """The engine and its proxy on loopback; ``url`` is what FHIR_SERVER_ELASTICSEARCH_URL takes."""

    def __init__(self):
        self._engine = OsmemServer.start(japanese=False)
        upstream = urlsplit(self._engine.url)
        self._handler = type("Proxy", (_Proxy,), {"upstream": (upstream.hostname, upstream.port)})
        self._proxies: list[ThreadingHTTPServer] = []
        self._proxy = self._serve()
        self.url = f"http://127.0.0.1:{self._proxy.server_address[1]}"

    def _serve(self, tls: ssl.SSLContext | None = None) -> ThreadingHTTPServer:
        proxy = ThreadingHTTPServer(("127.0.0.1", 0), self._handler)
        if tls is not None:
            proxy.socket = tls.wrap_socket(proxy.socket, server_side=True)
        proxy.daemon_threads = True
        proxy.unreachable = False
        proxy.authorizations = []  # the Authorization header of each request, for the connection tests
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        self._proxies.append(proxy)
        return proxy

    def serve_tls(self, certificate: str, key: str) -> tuple[str, list[str]]:
        """Another proxy to the same engine, over TLS with this certificate: its URL, and the list the
        Authorization headers it receives are added to."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        proxy = self._serve(context)
        return f"https://127.0.0.1:{proxy.server_address[1]}", proxy.authorizations

    @property
    def authorizations(self) -> list[str]:
        return self._proxy.authorizations

    @property
    def unreachable(self) -> bool:
        return self._proxy.unreachable

    @unreachable.setter
    def unreachable(self, value: bool) -> None:
        """While true, every request is dropped unanswered: the cluster is down as far as clients can tell."""
        self._proxy.unreachable = value

    def close(self) -> None:
        for proxy in self._proxies:
            proxy.shutdown()
            proxy.server_close()
        self._engine.close()

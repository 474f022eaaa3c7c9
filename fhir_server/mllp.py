"""`fhir-server mllp`: an MLLP listener (HL7 v2 over TCP, https://www.hl7.org/implement/standards/product_brief.cfm?product_id=55)
that maps each message, stores its resources, and only then answers AA; a rejected message gets AE with the
reason, one that cannot be read AR. Each connection is served in its own thread; messages on one connection
are answered in order."""

from __future__ import annotations

import io
import json
import logging
import socketserver

from fhir_server.importing import Importer
from fhir_server.pipeline import Context
from mappers.base import RecordError, Rejected, Source
from mappers.hl7v2 import ack
from mappers.hl7v2.mapper import Hl7Mapper
from mappers.hl7v2.message import Message

log = logging.getLogger(__name__)
_MAX_MESSAGE = 16 * 1024 * 1024


class MllpServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], context: Context, source_system: str, encoding: str = "utf-8"):
        self.context, self.encoding = context, encoding
        self.mapper = Hl7Mapper(context.terminology.normalizer, source_system)
        super().__init__(address, _Connection)

    def answer(self, data: bytes, peer: str) -> str:
        """Map and store one message; the ACK to send back."""
        try:
            message = Message(data.decode(self.encoding))
        except UnicodeDecodeError as error:  # replacing the bytes would store altered names: refuse instead
            return ack.ack(None, "AR", f"the message is not valid {self.encoding} (byte {data[error.start]:#04x})")
        except RecordError as error:
            return ack.ack(None, "AR", error.reason, error.field)
        result = self.mapper.map_message(message, Source("mllp", None, peer))
        rejects = io.StringIO()
        summary = Importer(self.context, rejects=rejects).run([result])
        if summary.rejected:
            reject = json.loads(rejects.getvalue().splitlines()[0])
            reason = reject["reason"]
            where = result.field if isinstance(result, Rejected) else None
            # The reason can quote the rejected value (a birth date): the sender gets it, the log does not.
            log.info("message %s from %s rejected at %s", message.control_id, peer, where or "a resource")
            return ack.ack(message, "AE", reason, where)
        return ack.ack(message, "AA")


class _Connection(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: MllpServer = self.server
        peer = f"{self.client_address[0]}:{self.client_address[1]}"
        buffer = b""
        while True:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            buffer += chunk
            while ack.END in buffer:
                frame, buffer = buffer.split(ack.END, 1)
                start = frame.find(ack.START)
                if start < 0:
                    continue  # bytes outside a frame are not a message
                try:
                    reply = server.answer(frame[start + 1:], peer)
                except Exception:  # never leave a sender waiting: it would resend forever
                    log.exception("message from %s failed", peer)
                    reply = ack.ack(None, "AE", "the server failed to store the message; it is logged")
                self.request.sendall(ack.frame(reply))
            if len(buffer) > _MAX_MESSAGE:
                self.request.sendall(ack.frame(ack.ack(None, "AR", "the message is larger than 16 MB")))
                return

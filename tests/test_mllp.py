"""The MLLP listener over real TCP on loopback: a message is acknowledged (AA) only once its resources are
stored; a rejected one gets AE with the reason, an unreadable one AR."""

import logging
import socket
import threading
from pathlib import Path

import pytest

from fhir_server.app import create_app
from fhir_server.mllp import MllpServer
from fhir_server.settings import Settings
from mappers.hl7v2.message import Message, split

MESSAGES = [body for _, body in split((Path(__file__).parent / "data" / "mappers" / "hl7v2" / "messages.hl7")
                                      .read_text(encoding="utf-8"))]


@pytest.fixture
def listener(database_url, tmp_path):
    app = create_app(Settings(database_url=database_url, terminology_folder=str(tmp_path / "terminology")))
    context = app.extensions["fhir"]
    server = MllpServer(("127.0.0.1", 0), context, "urn:test:hl7")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, server.server_address[1]
    server.shutdown()
    server.server_close()
    context.repository.database.dispose()


def _exchange(port: int, bodies: list[str]) -> list[Message]:
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        for body in bodies:
            connection.sendall(b"\x0b" + body.encode("utf-8") + b"\x1c\r")
            received = b""
            while not received.endswith(b"\x1c\r"):
                chunk = connection.recv(65536)
                assert chunk, "the listener closed the connection"
                received += chunk
            answers.append(Message(received.decode("utf-8")))
    return answers


def test_each_message_is_stored_then_acknowledged(listener):
    app, port = listener
    admit, discharge, result, *_ = MESSAGES
    answers = _exchange(port, [admit, discharge, result])
    assert [(answer.first("MSA").value(1), answer.first("MSA").value(2)) for answer in answers] == [
        ("AA", "MSG0001"), ("AA", "MSG0002"), ("AA", "MSG0003")]
    assert answers[0].type == "ACK^A01"
    client = app.test_client()
    [encounter] = client.get("/fhir/Encounter").get_json()["entry"]
    assert encounter["resource"]["status"] == "finished" and encounter["resource"]["meta"]["versionId"] == "2"
    patient = client.get("/fhir/Patient?identifier=00000001").get_json()["entry"][0]["resource"]
    assert patient["address"][0]["city"] == "서울특별시", "the result message did not replace the patient"
    assert client.get("/fhir/Observation?_summary=count").get_json()["total"] == 3


def test_a_rejected_message_gets_ae_with_the_reason_and_an_unreadable_one_ar(listener, caplog):
    _, port = listener
    impossible_birth = next(body for body in MESSAGES if "MSG0007" in body)
    with caplog.at_level(logging.INFO, logger="fhir_server.mllp"):
        nak, unreadable = _exchange(port, [impossible_birth, "PID|1||x"])
    assert nak.first("MSA").value(1) == "AE" and "`19680230` is not a date that exists" in nak.first("MSA").value(3)
    assert nak.first("ERR").value(2) == "PID"
    assert unreadable.first("MSA").value(1) == "AR"
    assert "MSG0007" in caplog.text, "the rejection is logged"
    assert "19680230" not in caplog.text, "a patient's birth date reached the log"


def test_a_message_in_another_encoding_is_refused_not_altered(listener):
    app, port = listener
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(b"\x0b" + MESSAGES[0].encode("cp949") + b"\x1c\r")
        received = b""
        while not received.endswith(b"\x1c\r"):
            received += connection.recv(65536)
    answer = Message(received.decode("utf-8"))
    assert answer.first("MSA").value(1) == "AR" and "is not valid utf-8" in answer.first("MSA").value(3)
    assert app.test_client().get("/fhir/Patient?_summary=count").get_json()["total"] == 0

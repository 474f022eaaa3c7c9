"""The resource as served: built from a worker's served tail, it is byte for byte what serializing it gives."""

from pathlib import Path

import pytest

from fhir_server import json_codec
from fhir_server.storage.served import served_body, served_tail, with_server_fields


@pytest.mark.parametrize("id_, version_id, last_updated", [("example", 1, 1_764_590_000_123), ("a.b-1", 12, 0)])
def test_a_served_body_built_from_the_served_tail_is_the_served_resource_byte_for_byte(id_, version_id, last_updated):
    examples = sorted((Path(__file__).parent.parent / "data" / "r4-examples").glob("*.json"))
    assert len(examples) > 500
    for path in examples:
        resource = json_codec.parse(path.read_bytes())
        expected = json_codec.dump(with_server_fields(resource, id_, version_id, last_updated))
        assert served_body(resource["resourceType"], id_, version_id, last_updated, served_tail(resource)) == expected

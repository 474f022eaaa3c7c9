"""The database schema, mirrored by the Alembic migrations in ``migrations/versions``.

Every version of every resource is kept as the exact JSON bytes the server returns
(https://hl7.org/fhir/R4/http.html#history). ``resources`` points at each resource's current
version; the ``search_*`` tables index current versions only.
"""

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants a 64-bit identity.
_Sequence = BigInteger().with_variant(Integer(), "sqlite")

resources = Table(
    "resources",
    metadata,
    Column("resource_type", String(64), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
    Column("deleted", Boolean, nullable=False),
)

resource_versions = Table(
    "resource_versions",
    metadata,
    Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="order of writes"),
    Column("resource_type", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
    Column("method", String(8), nullable=False, comment="POST, PUT, PATCH or DELETE"),
    Column("body", LargeBinary, nullable=True, comment="the served JSON; NULL for a deletion"),
    Index("ux_resource_versions_version", "resource_type", "id", "version_id", unique=True),
    Index("ix_resource_versions_type_seq", "resource_type", "seq"),
    Index("ix_resource_versions_last_updated", "last_updated"),
)

search_token = Table(
    "search_token",
    metadata,
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(64), nullable=False),
    Column("param", String(100), nullable=False),
    Column("system", Text, nullable=True),
    Column("code", Text, nullable=True),
    Index("ix_search_token_value", "resource_type", "param", "code", "system"),
    Index("ix_search_token_resource", "resource_type", "resource_id"),
)

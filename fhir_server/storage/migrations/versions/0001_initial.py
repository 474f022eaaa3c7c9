"""Versioned resources and the search index tables.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Sequence = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MS = "milliseconds since the Unix epoch"


def _index_table(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
        *columns,
    )
    op.create_index(f"ix_{name}_resource", name, ["resource_type", "resource_id", "param"])


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.BigInteger, nullable=False, comment=_MS),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )
    op.create_table(
        "resource_versions",
        sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="order of writes"),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.BigInteger, nullable=False, comment=_MS),
        sa.Column("method", sa.String(8), nullable=False, comment="POST, PUT, PATCH or DELETE"),
        sa.Column("body", sa.LargeBinary, nullable=True, comment="the served JSON; NULL for a deletion"),
    )
    op.create_index("ux_resource_versions_version", "resource_versions", ["resource_type", "id", "version_id"], unique=True)
    op.create_index("ix_resource_versions_type_seq", "resource_versions", ["resource_type", "seq"])
    op.create_index("ix_resource_versions_last_updated", "resource_versions", ["last_updated"])

    _index_table("search_token", sa.Column("system", sa.Text, nullable=True), sa.Column("code", sa.Text, nullable=True),
                 sa.Column("text", sa.Text, nullable=True, comment="normalized display or text, for :text"))
    op.create_index("ix_search_token_value", "search_token", ["resource_type", "param", "code", "system"])
    _index_table("search_string", sa.Column("value", sa.Text, nullable=False, comment="lower case, accents removed"),
                 sa.Column("exact", sa.Text, nullable=False))
    op.create_index("ix_search_string_value", "search_string", ["resource_type", "param", "value"],
                    postgresql_ops={"value": "text_pattern_ops"})
    _index_table("search_date", sa.Column("low", sa.BigInteger, nullable=False, comment=f"{_MS}, inclusive"),
                 sa.Column("high", sa.BigInteger, nullable=False, comment=f"{_MS}, inclusive"))
    op.create_index("ix_search_date_value", "search_date", ["resource_type", "param", "low", "high"])
    _index_table("search_number", sa.Column("value", sa.Float, nullable=False))
    op.create_index("ix_search_number_value", "search_number", ["resource_type", "param", "value"])
    _index_table("search_quantity", sa.Column("value", sa.Float, nullable=False), sa.Column("system", sa.Text),
                 sa.Column("code", sa.Text), sa.Column("unit", sa.Text))
    op.create_index("ix_search_quantity_value", "search_quantity", ["resource_type", "param", "value"])
    _index_table("search_reference", sa.Column("target_type", sa.String(64)), sa.Column("target_id", sa.Text),
                 sa.Column("url", sa.Text, comment="absolute or canonical reference as written"))
    op.create_index("ix_search_reference_value", "search_reference", ["resource_type", "param", "target_id", "target_type"])
    op.create_index("ix_search_reference_target", "search_reference", ["target_type", "target_id"])
    _index_table("search_uri", sa.Column("value", sa.Text, nullable=False))
    op.create_index("ix_search_uri_value", "search_uri", ["resource_type", "param", "value"],
                    postgresql_ops={"value": "text_pattern_ops"})


def downgrade() -> None:
    for table in ("search_uri", "search_reference", "search_quantity", "search_number", "search_date",
                  "search_string", "search_token", "resource_versions", "resources"):
        op.drop_table(table)

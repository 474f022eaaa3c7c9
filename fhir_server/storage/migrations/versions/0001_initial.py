"""Versioned resources and the token search index.

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


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("resource_type", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
        sa.Column("deleted", sa.Boolean, nullable=False),
    )
    op.create_table(
        "resource_versions",
        sa.Column("seq", _Sequence, primary_key=True, autoincrement=True, comment="order of writes"),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
        sa.Column("method", sa.String(8), nullable=False, comment="POST, PUT, PATCH or DELETE"),
        sa.Column("body", sa.LargeBinary, nullable=True, comment="the served JSON; NULL for a deletion"),
    )
    op.create_index("ux_resource_versions_version", "resource_versions", ["resource_type", "id", "version_id"], unique=True)
    op.create_index("ix_resource_versions_type_seq", "resource_versions", ["resource_type", "seq"])
    op.create_index("ix_resource_versions_last_updated", "resource_versions", ["last_updated"])
    op.create_table(
        "search_token",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
        sa.Column("system", sa.Text, nullable=True),
        sa.Column("code", sa.Text, nullable=True),
    )
    op.create_index("ix_search_token_value", "search_token", ["resource_type", "param", "code", "system"])
    op.create_index("ix_search_token_resource", "search_token", ["resource_type", "resource_id"])


def downgrade() -> None:
    op.drop_table("search_token")
    op.drop_table("resource_versions")
    op.drop_table("resources")

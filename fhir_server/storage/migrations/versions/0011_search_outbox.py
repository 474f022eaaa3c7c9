"""search_outbox: resources written since their Elasticsearch document was brought up to date, recorded in
the write's own transaction so that no committed write is lost to the search engine.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True,
                  comment="order of writes"),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        comment="resources written since their search-engine document was last brought up to date",
    )


def downgrade() -> None:
    op.drop_table("search_outbox")

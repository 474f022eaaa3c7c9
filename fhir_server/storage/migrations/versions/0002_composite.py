"""Composite search parameters and token :of-type: one row per element, a slot per component.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _slot(slot: int) -> list[sa.Column]:
    return [sa.Column(f"c{slot}_system", sa.Text), sa.Column(f"c{slot}_code", sa.Text),
            sa.Column(f"c{slot}_text", sa.Text), sa.Column(f"c{slot}_number", sa.Float),
            sa.Column(f"c{slot}_low", sa.BigInteger), sa.Column(f"c{slot}_high", sa.BigInteger),
            sa.Column(f"c{slot}_unit", sa.Text)]


def upgrade() -> None:
    op.create_table(
        "search_composite",
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
        *(column for slot in (1, 2, 3) for column in _slot(slot)),
    )
    op.create_index("ix_search_composite_resource", "search_composite", ["resource_type", "resource_id", "param"])
    op.create_index("ix_search_composite_value", "search_composite", ["resource_type", "param", "c1_code", "c1_system"])


def downgrade() -> None:
    op.drop_table("search_composite")

"""search_multiple_values: the search parameters for which some resource has more than one index row.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_INDEX_TABLES = ("search_token", "search_string", "search_date", "search_number", "search_quantity",
                 "search_reference", "search_uri", "search_composite")


def upgrade() -> None:
    op.create_table(
        "search_multiple_values",
        sa.Column("index_table", sa.String(32), nullable=False),
        sa.Column("resource_type", sa.String(64), nullable=False),
        sa.Column("param", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("index_table", "resource_type", "param"),
        comment="search parameters for which some resource has had more than one index row: the others' "
                "matches are counted without DISTINCT",
    )
    for table in _INDEX_TABLES:  # what the rows already indexed say
        op.execute(f"INSERT INTO search_multiple_values (index_table, resource_type, param) "
                   f"SELECT DISTINCT '{table}', resource_type, param FROM {table} "
                   f"GROUP BY resource_type, resource_id, param HAVING count(*) > 1")


def downgrade() -> None:
    op.drop_table("search_multiple_values")

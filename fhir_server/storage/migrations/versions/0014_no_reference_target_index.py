"""The reference index on (target_type, target_id) alone goes: `_revinclude=Source:*` was its one reader and now looks
each reference parameter of the source type up in ix_search_reference_value. Every reference row cost an entry in
it: 4.4% of the pages that transaction Bundles of 500 synthetic resources wrote to SQLite's WAL.

`if_exists`: an import killed while its value indexes were dropped leaves this one missing.

Revision ID: 0014
Revises: 0013
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_search_reference_target", table_name="search_reference", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_search_reference_target", "search_reference", ["target_type", "target_id"])

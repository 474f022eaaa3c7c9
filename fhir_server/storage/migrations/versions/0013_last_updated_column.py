"""`_lastUpdated` is searched on the resources table's last_updated column, which an index now serves, instead of
one search_date row per resource: those rows were a tenth of the index and repeated the column.

Downgrading leaves the rows deleted: run `fhir-server reindex` with the older server after it.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM search_date WHERE param = '_lastUpdated'")
    op.execute("DELETE FROM search_multiple_values WHERE index_table = 'search_date' AND param = '_lastUpdated'")
    op.create_index("ix_resources_last_updated", "resources", ["resource_type", "last_updated"])


def downgrade() -> None:
    op.drop_index("ix_resources_last_updated", table_name="resources")

"""import_jobs.owner: the process importing a job, so that a job whose server stopped is taken over by one
other process and resumed from its last checkpoint, and a worker that lost its job stops.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_jobs") as table:
        table.add_column(sa.Column("owner", sa.String(64), nullable=True,
                                   comment="the worker importing it; whoever takes over a stale job replaces it"))


def downgrade() -> None:
    with op.batch_alter_table("import_jobs") as table:
        table.drop_column("owner")

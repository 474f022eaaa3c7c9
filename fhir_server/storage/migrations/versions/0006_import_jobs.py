"""import_jobs: hospital exports uploaded over HTTP, imported in the background, with their progress.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("options", sa.Text, nullable=False, comment="JSON: spec, samples, build, source system, dry run"),
        sa.Column("state", sa.String(16), nullable=False, comment="running, completed or failed"),
        sa.Column("summary", sa.Text, nullable=False, comment="JSON: read, mapped, rejected, created, ..."),
        sa.Column("message", sa.Text, nullable=True, comment="why a job failed"),
        sa.Column("created", sa.BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
        sa.Column("updated", sa.BigInteger, nullable=False, comment="last progress; a running job that stops "
                                                                    "updating was interrupted"),
    )


def downgrade() -> None:
    op.drop_table("import_jobs")

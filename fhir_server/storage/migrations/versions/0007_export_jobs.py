"""export_jobs: FHIR Bulk Data `$export` jobs, persisted so they survive a restart and resume.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_jobs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False,
                  comment="running, completed or failed; a cancelled job is deleted"),
        sa.Column("request", sa.Text, nullable=False, comment="the kick-off request URL, as the manifest repeats it"),
        sa.Column("parameters", sa.Text, nullable=False,
                  comment="JSON: level, group, types, since, type filters, base URL"),
        sa.Column("progress", sa.Text, nullable=False,
                  comment="JSON checkpoint: the type being exported, the last id written, the files finished"),
        sa.Column("owner", sa.String(64), nullable=True, comment="the worker that holds the job; another takes over "
                                                                 "a running job whose worker stopped updating it"),
        sa.Column("message", sa.Text, nullable=True, comment="why a job failed"),
        sa.Column("transaction_time", sa.BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
        sa.Column("created", sa.BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
        sa.Column("updated", sa.BigInteger, nullable=False, comment="last checkpoint or heartbeat"),
        sa.Column("expires", sa.BigInteger, nullable=True, comment="when a completed job's files are deleted"),
    )


def downgrade() -> None:
    op.drop_table("export_jobs")

"""cohort_queries: every cohort query with its exact counts (the data steward's log) and budget spent.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cohort_queries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("requester", sa.String(255), nullable=False,
                  comment="issuer|subject, or `local` with authentication off"),
        sa.Column("at", sa.BigInteger, nullable=False, comment="milliseconds since the Unix epoch"),
        sa.Column("definition", sa.Text, nullable=False, comment="the normalized cohort definition"),
        sa.Column("breakdowns", sa.Text, nullable=False, comment="JSON: the breakdowns asked for, and the age band date"),
        sa.Column("outcome", sa.String(16), nullable=False, comment="answered or refused"),
        sa.Column("rule", sa.Text, nullable=False, comment="the policy rules that applied, or why it was refused"),
        sa.Column("exact", sa.Text, nullable=False,
                  comment="JSON: the counts before protection; for the data steward only"),
        sa.Column("released", sa.Text, nullable=False, comment="JSON: what the requester was sent"),
        sa.Column("epsilon", sa.Float, nullable=False,
                  comment="privacy budget this answer spent (0 for a repeat or refusal)"),
        sa.Column("member_count", sa.Integer, nullable=False, comment="how many patients the cohort had"),
        sa.Column("members_digest", sa.String(64), nullable=False, comment="SHA-256 of the sorted member ids"),
        sa.Column("members", sa.LargeBinary, nullable=False,
                  comment="zlib of the members' 8-byte id hashes, for the differencing guard"),
        comment="every cohort query, for the data steward; also each requester's privacy budget ledger",
    )
    op.create_index("ix_cohort_queries_requester", "cohort_queries", ["requester", "seq"])


def downgrade() -> None:
    op.drop_table("cohort_queries")

"""terminology_closure, terminology_members, terminology_published: the hierarchies and value set
expansions that token :below, :above, :in and :not-in search through.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "terminology_closure",
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("ancestor", sa.String(64), nullable=False),
        sa.Column("descendant", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("system", "ancestor", "descendant"),
        comment="every (ancestor, descendant) pair of each code system's hierarchy; each code is its own ancestor",
    )
    op.create_index("ix_terminology_closure_descendant", "terminology_closure", ["system", "descendant", "ancestor"])
    op.create_table(
        "terminology_members",
        sa.Column("value_set", sa.String(255), nullable=False),
        sa.Column("system", sa.String(255), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("value_set", "system", "code"),
        comment="the expansion of each published value set",
    )
    op.create_table(
        "terminology_published",
        sa.Column("name", sa.String(255), primary_key=True,
                  comment="a code system or value set URL, or a resource reference"),
        sa.Column("kind", sa.String(16), nullable=False, comment="closure, members or resource"),
        sa.Column("fingerprint", sa.String(255), nullable=False, comment="what was published, to skip an unchanged one"),
    )


def downgrade() -> None:
    op.drop_table("terminology_published")
    op.drop_table("terminology_members")
    op.drop_index("ix_terminology_closure_descendant", "terminology_closure")
    op.drop_table("terminology_closure")

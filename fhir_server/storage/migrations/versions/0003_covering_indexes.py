"""Value indexes that end in resource_id, so search subqueries read the index alone; a date index by `high`.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TEXT = {"postgresql_ops": {"value": "text_pattern_ops"}}
# (index, table, columns before resource_id, options)
_COVERING = [
    ("ix_search_token_value", "search_token", ["code", "system"], {}),
    ("ix_search_string_value", "search_string", ["value"], _TEXT),
    ("ix_search_date_value", "search_date", ["low", "high"], {}),
    ("ix_search_number_value", "search_number", ["value"], {}),
    ("ix_search_quantity_value", "search_quantity", ["value"], {}),
    ("ix_search_reference_value", "search_reference", ["target_id", "target_type"], {}),
    ("ix_search_uri_value", "search_uri", ["value"], _TEXT),
    ("ix_search_composite_value", "search_composite", ["c1_code", "c1_system"], {}),
]
_NEW_COLUMNS = {"ix_search_quantity_value": ["value", "system", "code"]}


def upgrade() -> None:
    for name, table, columns, options in _COVERING:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["resource_type", "param", *_NEW_COLUMNS.get(name, columns), "resource_id"],
                        **options)
    op.create_index("ix_search_date_high", "search_date", ["resource_type", "param", "high", "low", "resource_id"])


def downgrade() -> None:
    op.drop_index("ix_search_date_high", table_name="search_date")
    for name, table, columns, options in _COVERING:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, ["resource_type", "param", *columns], **options)

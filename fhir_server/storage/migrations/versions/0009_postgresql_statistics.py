"""PostgreSQL extended statistics on the index tables' leading columns (PostgreSQL only).

An index row's resource type, parameter and value are strongly correlated, and the planner assumes they are
not: it multiplied their selectivities and expected one row where a cohort criterion matched 1,500, then
chose nested loops over thousands of rows (a three-criterion cohort over 3,000 patients: 210 ms, 164 ms with
these; a windowed one 208 ms -> 89 ms). Most-common-value lists and functional dependencies over the
columns let it see the correlation.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STATISTICS = {
    "search_token": "resource_type, param, code, system",
    "search_reference": "resource_type, param, target_type",
    "search_quantity": "resource_type, param, code",
    "search_date": "resource_type, param",
    "search_string": "resource_type, param",
    "search_uri": "resource_type, param",
    "search_number": "resource_type, param",
    "search_composite": "resource_type, param, c1_code",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in STATISTICS.items():
        op.execute(f"CREATE STATISTICS IF NOT EXISTS st_{table}_columns (mcv, dependencies) ON {columns} FROM {table}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in STATISTICS:
        op.execute(f"DROP STATISTICS IF EXISTS st_{table}_columns")

"""Union parameters store no index rows: R4's Observation `combo-*` parameters are searched through the rows of
the parameters they join (search/parameters.py `unions`), so their own rows, nearly a quarter of a clinical
population's, are deleted.

Downgrading leaves them deleted: run `fhir-server reindex --type Observation` with the older server after it.

Revision ID: 0012
Revises: 0011
"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# What `unions` finds among R4's parameters (tests/storage/test_migrations.py checks it), with the rows a token
# parameter derives for `:of-type`.
_UNIONS = ("combo-code", "combo-code-value-concept", "combo-code-value-quantity", "combo-data-absent-reason",
           "combo-value-concept", "combo-value-quantity")
_TOKENS = ("combo-code", "combo-data-absent-reason", "combo-value-concept")
PARAMS = _UNIONS + tuple(f"{code}:of-type" for code in _TOKENS)
_TABLES = ("search_token", "search_quantity", "search_composite", "search_multiple_values")


def upgrade() -> None:
    listed = ", ".join(f"'{param}'" for param in PARAMS)
    for table in _TABLES:
        op.execute(f"DELETE FROM {table} WHERE resource_type = 'Observation' AND param IN ({listed})")


def downgrade() -> None:
    pass  # the rows cannot be rebuilt here: see the docstring

"""The first schema: taught drawings, the last minute's saves per client hash, a shared key.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "taught",
        sa.Column("id", sa.String(20), primary_key=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("guess", sa.String(100), nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("recognized", sa.Boolean, nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("model_sha256", sa.String(64), nullable=False),
        sa.Column("strokes", sa.Text, nullable=False),
        sa.Column("bitmap", sa.LargeBinary, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_taught_label", "taught", ["label"])
    op.create_index("ix_taught_created", "taught", ["created"])
    op.create_table(
        "rate_hits",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_rate_hits_client_at", "rate_hits", ["client", "at"])
    op.create_index("ix_rate_hits_at", "rate_hits", ["at"])
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("secrets")
    op.drop_table("rate_hits")
    op.drop_table("taught")

"""files.detail_hash: the 256-bit hash that confirms a near-duplicate match

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: files scanned before it have none, and their pairs go unconfirmed (as before).
    op.add_column("files", sa.Column("detail_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("detail_hash")

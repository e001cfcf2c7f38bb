"""files.copy_keys holds nine keys (the turned "p" and "n" keys): 160 -> 240 characters

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nine keys of "x:<16 hex>" and their spaces take 170 characters; PostgreSQL enforces
    # the length (SQLite does not), so the column grows with room for a few more.
    with op.batch_alter_table("files") as batch:
        batch.alter_column(
            "copy_keys",
            existing_type=sa.String(length=160),
            type_=sa.String(length=240),
            existing_nullable=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.alter_column(
            "copy_keys",
            existing_type=sa.String(length=240),
            type_=sa.String(length=160),
            existing_nullable=True,
        )

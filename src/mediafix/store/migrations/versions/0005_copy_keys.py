"""files.copy_keys and copy_checks: hard copies (screenshots, crops, mirrored...)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: files scanned before it have none and are probed again at the next scan.
    op.add_column("files", sa.Column("copy_keys", sa.String(length=160), nullable=True))
    # What media.copycheck said of a pair of contents, so a regroup does not look again.
    op.create_table(
        "copy_checks",
        sa.Column("sha256", sa.String(length=64), primary_key=True),
        sa.Column("other_sha256", sa.String(length=64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("copy_checks")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("copy_keys")

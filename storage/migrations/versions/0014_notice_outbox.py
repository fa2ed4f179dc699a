"""outbox.notice_id: an announcement's delivery report and stop read its own rows by index

Revision ID: 0014_notice_outbox
Revises: 0013_faq_drafts
Create Date: 2026-12-07 07:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_notice_outbox"
down_revision: str | None = "0013_faq_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTICE_KEY = "notice:%"


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("notice_id", sa.Integer(), nullable=True))
    op.create_index("ix_outbox_notice_status", "outbox", ["notice_id", "status"])
    _backfill()


def _backfill() -> None:
    """Rows queued before this revision carry the notice only in their key:
    `notice:<notice id>:<telegram id>`."""
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer()),
        sa.column("dedupe_key", sa.String()),
        sa.column("notice_id", sa.Integer()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.dedupe_key).where(outbox.c.dedupe_key.like(NOTICE_KEY))
    ).all()
    for row_id, key in rows:
        parts = str(key).split(":")
        if len(parts) == 3 and parts[1].isdigit():
            connection.execute(
                sa.update(outbox).where(outbox.c.id == row_id).values(notice_id=int(parts[1]))
            )


def downgrade() -> None:
    op.drop_index("ix_outbox_notice_status", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("notice_id")

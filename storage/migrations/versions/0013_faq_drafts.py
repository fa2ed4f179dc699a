"""faq drafts: FAQ entries staff write from resolved inquiries, for managers to approve;
who asked each FAQ gap (for /mydata and /forgetme); an index for the sweep that tells a
guard a walk-in's host did not answer

Revision ID: 0013_faq_drafts
Revises: 0011_incidents
Create Date: 2026-12-07 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0013_faq_drafts"
down_revision: str | None = "0011_incidents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = storage.models.UTCDateTime
    op.create_index("ix_visitors_status_due", "visitors", ["status", "answer_due_at"])
    with op.batch_alter_table("faq_gaps") as batch:
        batch.add_column(sa.Column("telegram_id", sa.BigInteger(), nullable=True))
    op.create_index("ix_faq_gaps_telegram", "faq_gaps", ["telegram_id"])
    op.create_table(
        "faq_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "property_id",
            sa.Integer(),
            sa.ForeignKey(
                "properties.id", ondelete="CASCADE", name="fk_faq_drafts_property_id_properties"
            ),
            nullable=False,
        ),
        sa.Column(
            "ticket_id",
            sa.Integer(),
            sa.ForeignKey(
                "tickets.id", ondelete="SET NULL", name="fk_faq_drafts_ticket_id_tickets"
            ),
            nullable=True,
        ),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("author_name", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("reviewed_by", sa.BigInteger(), nullable=True),
        sa.Column("reviewed_by_name", sa.String(64), nullable=False),
        sa.Column("reviewed_at", when(), nullable=True),
        sa.Column("created_at", when(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_faq_drafts"),
        sa.UniqueConstraint("ticket_id", name="uq_faq_drafts_ticket_id"),
    )
    op.create_index("ix_faq_drafts_status_property", "faq_drafts", ["status", "property_id"])


def downgrade() -> None:
    op.drop_table("faq_drafts")
    op.drop_index("ix_faq_gaps_telegram", table_name="faq_gaps")
    with op.batch_alter_table("faq_gaps") as batch:
        batch.drop_column("telegram_id")
    op.drop_index("ix_visitors_status_due", table_name="visitors")

"""duty: duty marks set by hand (/duty, /onduty, /offduty) and the private calls to the
person on duty

Revision ID: 0009_duty
Revises: 0008_front_desk
Create Date: 2026-12-07 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0009_duty"
down_revision: str | None = "0008_front_desk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "duty_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=16), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.BigInteger(), nullable=False),
        sa.Column("set_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("until", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_duty_marks_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_marks")),
    )
    op.create_index("ix_duty_marks_team_until", "duty_marks", ["property_id", "team", "until"])
    op.create_table(
        "duty_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("property_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=16), nullable=False),
        sa.Column("telegram_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", storage.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_duty_calls_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_duty_calls_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_duty_calls")),
        sa.UniqueConstraint(
            "ticket_id", "telegram_id", "kind", name=op.f("uq_duty_calls_ticket_id")
        ),
    )
    op.create_index("ix_duty_calls_property_at", "duty_calls", ["property_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_duty_calls_property_at", table_name="duty_calls")
    op.drop_table("duty_calls")
    op.drop_index("ix_duty_marks_team_until", table_name="duty_marks")
    op.drop_table("duty_marks")

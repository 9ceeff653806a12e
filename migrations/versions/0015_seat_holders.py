"""registrations: an index of those that hold a seat, for counting an event's seats

Revision ID: 0015_seat_holders
Revises: 0014_api_keys
Create Date: 2026-12-01 10:40:00

Registering counts the event's seat-holding registrations under the event's lock. Counted
over all of the event's registrations, the count read the whole waitlist for every new
registration (an opening day's 500 registrants: 250 rows each on average). A partial index
of the seat holders keeps the count to as many rows as the event has seats.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015_seat_holders"
down_revision = "0014_api_keys"
branch_labels = None
depends_on = None

_SEAT_HOLDING = "status IN ('awaiting_payment', 'confirmed', 'checked_in')"


def upgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.create_index(
            "ix_registration_seat_holders",
            ["event_id", "ticket_type_id"],
            unique=False,
            sqlite_where=sa.text(_SEAT_HOLDING),
            postgresql_where=sa.text(_SEAT_HOLDING),
        )


def downgrade():
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_registration_seat_holders",
            sqlite_where=sa.text(_SEAT_HOLDING),
            postgresql_where=sa.text(_SEAT_HOLDING),
        )

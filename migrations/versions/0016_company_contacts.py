"""companies: an index of their primary contacts

Revision ID: 0016_company_contacts
Revises: 0015_seat_holders
Create Date: 2026-12-01 12:30:00

Every signed-in request asks whether its person manages any company's seats
(``accounts.queries``): without an index on the contact that question reads the whole table.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0016_company_contacts"
down_revision = "0015_seat_holders"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.create_index("ix_company_primary_contact_id", ["primary_contact_id"], unique=False)


def downgrade():
    with op.batch_alter_table("company", schema=None) as batch_op:
        batch_op.drop_index("ix_company_primary_contact_id")

"""PostgreSQL only: no two active bookings of one instrument may overlap.

SQLite has no exclusion constraints; there `services.book_instrument` checks for overlaps
inside its write transaction, which SQLite serialises. Needs the btree_gist extension
(shipped with PostgreSQL; creating it needs a superuser or a trusted-extension grant).
"""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE orders_booking ADD CONSTRAINT booking_no_overlap
    EXCLUDE USING gist (resource_id WITH =, tstzrange(start, "end", '[)') WITH &&)
    WHERE (status IN ('pending', 'confirmed'));
"""
DROP = "ALTER TABLE orders_booking DROP CONSTRAINT IF EXISTS booking_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]

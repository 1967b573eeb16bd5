from django.db import migrations

from innocommons.catalog.reference import load_taxonomy


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [migrations.RunPython(load_taxonomy, migrations.RunPython.noop)]

from django.db import migrations

from innocommons.core.reference import load_regions


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]

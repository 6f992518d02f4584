from django.db import migrations, models


def create_singleton(apps, schema_editor):
    apps.get_model("catalog", "CatalogueVersion").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_search_text_trigram_index")]

    operations = [
        migrations.CreateModel(
            name="CatalogueVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(create_singleton, migrations.RunPython.noop),
    ]

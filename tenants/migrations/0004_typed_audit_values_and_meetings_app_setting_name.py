"""Audit values keep their types (a boolean is stored as a JSON boolean, not the string "True"), and
web service configurations are called Meetings App settings.

The old text values cannot be cast to JSON in place (most are not JSON), so the typed columns are added
beside them, filled, and take their names.
"""

from django.db import migrations, models

_BOOLEANS = {"True": True, "False": False}


def _typed(text: str):
    if text == "":
        return None
    return _BOOLEANS.get(text, text)


def forwards(apps, schema_editor):
    entries = apps.get_model("tenants", "AuditLogEntry").objects.all()
    for entry in entries.only("id", "old_value", "new_value").iterator():
        entries.filter(pk=entry.pk).update(
            old_value_typed=_typed(entry.old_value), new_value_typed=_typed(entry.new_value)
        )


def backwards(apps, schema_editor):
    entries = apps.get_model("tenants", "AuditLogEntry").objects.all()
    for entry in entries.only("id", "old_value_typed", "new_value_typed").iterator():
        entries.filter(pk=entry.pk).update(
            old_value="" if entry.old_value_typed is None else str(entry.old_value_typed),
            new_value="" if entry.new_value_typed is None else str(entry.new_value_typed),
        )


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_end_user_tenant_newest_index")]

    operations = [
        migrations.AlterModelOptions(
            name="webserviceconfiguration",
            options={"ordering": ["scope", "id"], "verbose_name": "Meetings App setting"},
        ),
        migrations.AddField("auditlogentry", "old_value_typed", models.JSONField(null=True, blank=True)),
        migrations.AddField("auditlogentry", "new_value_typed", models.JSONField(null=True, blank=True)),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField("auditlogentry", "old_value"),
        migrations.RemoveField("auditlogentry", "new_value"),
        migrations.RenameField("auditlogentry", "old_value_typed", "old_value"),
        migrations.RenameField("auditlogentry", "new_value_typed", "new_value"),
        migrations.AlterField(
            model_name="auditlogentry",
            name="actor",
            field=models.CharField(
                help_text="The portal user name, or command: and the name of a management command.", max_length=150
            ),
        ),
    ]

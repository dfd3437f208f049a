"""Console roles: "Operadores" run the operation, "Consulta" only looks. Staff get a role by joining a group."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    ("cedula", "view_cedulainfo"),
    ("cedula", "view_lookupattempt"),
    ("cedula", "view_importbatch"),
    ("django_q", "view_success"),
    ("django_q", "view_failure"),
    ("django_q", "view_schedule"),
    ("django_q", "view_ormq"),
]
OPERATE = [
    ("cedula", "import_cedulas"),
    ("cedula", "export_cedulas"),
    ("cedula", "queue_lookups"),
    ("cedula", "pause_lookups"),
]
ROLES = {"Operadores": VIEW + OPERATE, "Consulta": VIEW}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create them now to assign them.
    for label in ("cedula", "django_q"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = [Permission.objects.get(content_type__app_label=app, codename=code) for app, code in codes]
        group.permissions.set(perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cedula", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

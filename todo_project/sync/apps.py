from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "todo_project.sync"
    verbose_name = "Real-time sync"
    label = "sync"
    default_auto_field = "django.db.models.BigAutoField"

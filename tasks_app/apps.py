from django.apps import AppConfig


class Config(AppConfig):
    name = "tasks_app"
    verbose_name = "Tasks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tasks_app.erasure import tasks_erase
        from todo_project.accounts import erasure

        erasure.register("tasks", lambda user_id: tasks_erase(user_id=user_id))

        # The export's first section beyond the task layer's items (sections.py).
        from tasks_app.portability import sections
        from tasks_app.portability.export import PROFILE_SECTION

        sections.register(PROFILE_SECTION)

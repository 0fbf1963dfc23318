from django.apps import AppConfig


class Config(AppConfig):
    name = "audit_app"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The trail is keyed by a plain actor id so it outlives rows it names;
        # a deleted account's own trail is erased with it (docs/audit.md).
        from audit_app.services import audit_entries_erase
        from todo_project.accounts import erasure

        erasure.register("audit_entries", lambda user_id: audit_entries_erase(user_id=user_id))

        # GET /api/export's audit_log section (the task layer may not import this app).
        from audit_app.export import SECTION
        from tasks_app.portability import sections

        sections.register(SECTION)

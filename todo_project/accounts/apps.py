from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "todo_project.accounts"
    verbose_name = "Accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from todo_project.accounts.authentication import connect_signals

        # A saved or deleted user is re-checked on its next request in this process.
        connect_signals()

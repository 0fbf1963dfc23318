from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "todo_project.accounts"
    verbose_name = "Accounts"
    label = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from todo_project.accounts.authentication import connect_signals
        from todo_project.accounts.signals import session_logged_out

        # A saved or deleted user is re-checked on its next request in this process.
        connect_signals()
        # A cookie session that logs out closes the sockets it authenticated.
        user_logged_out.connect(session_logged_out, dispatch_uid="accounts-session-logged-out")

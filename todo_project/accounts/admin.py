from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.http import HttpRequest

from todo_project.accounts import services
from todo_project.accounts.models import Profile
from todo_project.errors import DomainError


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fields = ("timezone", "date_order", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")


def _clean_username(form: forms.ModelForm) -> str:
    username = form.cleaned_data["username"]
    try:
        services.check_username(username)
    except DomainError as exc:
        raise forms.ValidationError(exc.message, code=exc.code) from None
    return username


class TaskbeatUserCreationForm(AdminUserCreationForm):
    def clean_username(self) -> str:
        super().clean_username()
        return _clean_username(self)


class TaskbeatUserChangeForm(UserChangeForm):
    def clean_username(self) -> str:
        # Accounts named with an "@" before the rule may keep their name.
        if "username" not in self.changed_data:
            return self.cleaned_data["username"]
        return _clean_username(self)


class TaskbeatPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password": afterwards, every session of the user ends."""

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        if commit:
            services.password_set_by_admin(user=user)
        return user


class AdminLoginForm(AdminAuthenticationForm):
    """The admin login runs the API login's credential check: login delay and audit."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = services.user_authenticate(
                    identifier=username, password=password, via="admin"
                )
            except services.LoginThrottled as exc:
                # The login view answers 429 with Retry-After (accounts/views.py).
                self.request.login_retry_after = exc.wait  # type: ignore[union-attr]
                raise forms.ValidationError(exc.message, code="throttled") from None
            except services.AuthenticationError:
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


admin.site.login_form = AdminLoginForm

# The stock user admin plus the profile, so staff can fix a user's time zone.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class TaskbeatUserAdmin(UserAdmin):
    inlines = [ProfileInline]
    add_form = TaskbeatUserCreationForm
    form = TaskbeatUserChangeForm
    change_password_form = TaskbeatPasswordChangeForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            # Unchecking "active" ends every session and socket of the account.
            services.user_deactivated(user_id=obj.pk)


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "timezone", "date_order", "updated_at")
    list_filter = ("timezone",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
    readonly_fields = ("created_at", "updated_at")

from __future__ import annotations

from django.urls import path

from todo_project.accounts import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/password", views.PasswordChangeView.as_view(), name="auth-password"),
    path("auth/account", views.AccountView.as_view(), name="auth-account"),
    path("auth/password/reset", views.PasswordResetRequestView.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm",
        views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("auth/email/verify", views.EmailVerifyView.as_view(), name="auth-email-verify"),
    path("auth/email/verification", views.EmailVerificationResendView.as_view(), name="auth-email-resend"),
    path("me", views.MeView.as_view(), name="me"),
]

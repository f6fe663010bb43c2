from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from opsdesk.core.permissions import public, staff_required
from opsdesk.core.views import healthz

auth_patterns = [
    path(
        "login/",
        public(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("logout/", public(auth_views.LogoutView.as_view()), name="logout"),
    path(
        "password/change/",
        staff_required(auth_views.PasswordChangeView.as_view()),
        name="password_change",
    ),
    path(
        "password/change/done/",
        staff_required(auth_views.PasswordChangeDoneView.as_view()),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        public(
            auth_views.PasswordResetView.as_view(
                email_template_name="registration/password_reset_email.txt",
                html_email_template_name="registration/password_reset_email.html",
            )
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        public(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        public(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        public(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("", include("opsdesk.processes.urls")),
    path("accounts/", include(auth_patterns)),
    path("inbox/", include("opsdesk.notifications.urls")),
    path("dashboard/", include("opsdesk.dashboard.urls")),
    path("catalog/", include("catalog.urls")),
    path("inventory/", include("inventory.urls")),
    path("", include("orders.urls")),
    path("returns/", include("returns.urls")),
    path("", include("opsdesk.core.urls")),
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

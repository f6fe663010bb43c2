from django.urls import path

from opsdesk.core import views

app_name = "core"

urlpatterns = [
    path("security/lockouts/", views.lockout_list, name="lockouts"),
    path("security/lockouts/<int:attempt_id>/unlock/", views.lockout_clear, name="lockout_clear"),
]

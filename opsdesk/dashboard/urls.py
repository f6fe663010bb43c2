from django.urls import path

from opsdesk.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.dashboard_index, name="index"),
    path("daily-summary/schedule/", views.daily_summary_schedule, name="daily_summary_schedule"),
]

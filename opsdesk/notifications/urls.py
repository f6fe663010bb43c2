from django.urls import path

from opsdesk.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("badge/", views.unread_badge, name="unread_badge"),
    path("<int:notification_id>/read/", views.notification_mark_read, name="mark_read"),
    path("read-all/", views.notification_mark_all_read, name="mark_all_read"),
    path("settings/", views.preferences, name="preferences"),
    path("mail-test/", views.mail_test, name="mail_test"),
]

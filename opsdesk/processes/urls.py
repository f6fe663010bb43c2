from django.urls import path

from opsdesk.processes import views

app_name = "processes"

urlpatterns = [
    path("", views.my_work, name="my_work"),
]

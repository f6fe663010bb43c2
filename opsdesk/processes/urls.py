from django.urls import path

from opsdesk.processes import views

app_name = "processes"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("search/", views.search, name="search"),
    path("processes/", views.process_list, name="list"),
    path("processes/readiness/", views.readiness, name="readiness"),
    path("processes/<slug:key>/", views.process_detail, name="detail"),
    path("processes/<slug:key>/edit/", views.process_edit, name="edit"),
    path("processes/<slug:key>/reviewed/", views.process_mark_reviewed, name="mark_reviewed"),
    path("shifts/", views.shifts, name="shifts"),
    path("shifts/<int:shift_id>/delete/", views.shift_delete, name="shift_delete"),
    path(
        "shifts/changes/<int:change_id>/delete/",
        views.shift_change_delete,
        name="shift_change_delete",
    ),
    path("work/<int:item_id>/claim/", views.work_item_claim, name="work_item_claim"),
    path("work/<int:item_id>/done/", views.work_item_done, name="work_item_done"),
]

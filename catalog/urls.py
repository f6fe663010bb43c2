from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:product_id>/", views.product_detail, name="product_detail"),
    path("products/<int:product_id>/edit/", views.product_edit, name="product_edit"),
    path("products/<int:product_id>/status/", views.product_status, name="product_status"),
    path("products/<int:product_id>/publish/", views.product_publish, name="product_publish"),
    path("products/<int:product_id>/unpublish/", views.product_unpublish, name="product_unpublish"),
    path("products/<int:product_id>/claim/", views.product_claim, name="product_claim"),
    path("products/<int:product_id>/verify/", views.product_verify, name="product_verify"),
    path("products/<int:product_id>/variants/new/", views.variant_add, name="variant_add"),
    path("variants/<int:variant_id>/edit/", views.variant_edit, name="variant_edit"),
    path("products/<int:product_id>/images/new/", views.image_add, name="image_add"),
    path("images/<int:image_id>/delete/", views.image_delete, name="image_delete"),
    path("images/<int:image_id>/thumbnail/", views.image_thumbnail, name="image_thumbnail"),
    path("images/<int:image_id>/original/", views.image_original, name="image_original"),
    path("queue/", views.queue, name="queue"),
    path("accuracy/", views.accuracy, name="accuracy"),
    path("accuracy/snapshots/", views.accuracy_snapshot_take, name="accuracy_snapshot_take"),
    path(
        "accuracy/snapshots/<int:snapshot_id>/sign-off/",
        views.accuracy_sign_off,
        name="accuracy_sign_off",
    ),
]

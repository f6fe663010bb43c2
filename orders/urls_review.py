from django.urls import path

from orders import views_review as views

urlpatterns = [
    path("orders/", views.order_queue, name="queue"),
    path("orders/bulk-approve/", views.order_bulk_approve, name="bulk_approve"),
    path("orders/<int:pk>/", views.order_detail, name="detail"),
    path("orders/<int:pk>/next/", views.order_next, name="next"),
    path("orders/<int:pk>/previous/", views.order_previous, name="previous"),
    path("orders/<int:pk>/claim/", views.order_claim, name="claim"),
    path("orders/<int:pk>/approve/", views.order_approve, name="approve"),
    path("orders/<int:pk>/hold/", views.order_hold, name="hold"),
    path("orders/<int:pk>/release/", views.order_release, name="release"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="cancel"),
    path("orders/<int:pk>/comment/", views.order_comment, name="comment"),
]

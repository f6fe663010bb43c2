"""Receiving and POS sync URLs; inventory/urls.py merges them under app_name "inventory"."""

from django.urls import path

from inventory import views_receiving as views

urlpatterns: list = [
    path("purchase-orders/", views.purchase_order_list, name="po_list"),
    path("purchase-orders/new/", views.purchase_order_create, name="po_create"),
    path("purchase-orders/<int:po_id>/", views.purchase_order_detail, name="po_detail"),
    path("purchase-orders/<int:po_id>/send/", views.purchase_order_send, name="po_send"),
    path("purchase-orders/<int:po_id>/receive/", views.receiving_screen, name="receiving"),
    path("purchase-orders/<int:po_id>/receive/scan/", views.receiving_scan, name="receiving_scan"),
    path(
        "purchase-orders/<int:po_id>/receive/adjust/",
        views.receiving_adjust,
        name="receiving_adjust",
    ),
    path(
        "purchase-orders/<int:po_id>/receive/discard/",
        views.receiving_discard,
        name="receiving_discard",
    ),
    path("purchase-orders/<int:po_id>/receive/post/", views.receiving_post, name="receiving_post"),
    path(
        "receiving/unknown/<int:discrepancy_id>/resolve/",
        views.receiving_unknown_resolve,
        name="receiving_unknown_resolve",
    ),
    path("pos/", views.pos_sync_list, name="pos_sync_list"),
    path("pos/<int:run_id>/", views.pos_sync_detail, name="pos_sync_detail"),
    path("pos/<int:run_id>/progress/", views.pos_sync_progress, name="pos_sync_progress"),
    path("pos/<int:run_id>/apply/", views.pos_sync_apply, name="pos_sync_apply"),
    path("pos/<int:run_id>/differences.csv", views.pos_sync_export, name="pos_sync_export"),
    path("pos/push/", views.pos_push, name="pos_push"),
    path("pos/push/tokens/", views.pos_push_tokens, name="pos_push_tokens"),
    path(
        "pos/push/tokens/<int:location_id>/rotate/",
        views.pos_push_token_rotate,
        name="pos_push_token_rotate",
    ),
]

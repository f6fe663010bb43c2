"""Intake's URLs, merged into the "orders" namespace by orders/urls.py (mounted at the root)."""

from django.urls import path

from orders import views_intake as views

urlpatterns = [
    path("webhooks/shopify/<slug:channel>/", views.webhook_shopify, name="webhook_shopify"),
    path(
        "webhooks/woocommerce/<slug:channel>/",
        views.webhook_woocommerce,
        name="webhook_woocommerce",
    ),
    path("webhooks/generic/<slug:channel>/", views.webhook_generic, name="webhook_generic"),
    path("orders/intake/deliveries/", views.delivery_list, name="delivery_list"),
    path(
        "orders/intake/deliveries/<int:delivery_id>/",
        views.delivery_detail,
        name="delivery_detail",
    ),
    path(
        "orders/intake/deliveries/<int:delivery_id>/replay/",
        views.delivery_replay,
        name="delivery_replay",
    ),
    path("orders/intake/channels/", views.channel_list, name="channel_list"),
    path("orders/intake/channels/<int:channel_id>/", views.channel_detail, name="channel_detail"),
    path(
        "orders/intake/channels/<int:channel_id>/rotate/",
        views.channel_rotate,
        name="channel_rotate",
    ),
    path(
        "orders/intake/channels/<int:channel_id>/mappings/<int:mapping_id>/delete/",
        views.mapping_delete,
        name="mapping_delete",
    ),
    path("orders/intake/import/", views.import_csv, name="import_csv"),
    path("orders/intake/phone/", views.phone_order, name="phone_order"),
    path("orders/intake/lines/<int:line_id>/match/", views.line_match, name="line_match"),
    path("orders/intake/orders/<int:pk>/method/", views.order_method, name="order_method"),
]

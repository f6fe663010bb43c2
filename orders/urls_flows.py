"""Drop ship, store pickup and local delivery (paths under fulfillment/)."""

from django.urls import path

from orders import views_flows as views

urlpatterns = [
    path("fulfillment/drop-ship/", views.dropship_list, name="dropship_list"),
    path("fulfillment/drop-ship/<int:pk>/send/", views.dropship_send, name="dropship_send"),
    path(
        "fulfillment/drop-ship/<int:pk>/tracking/",
        views.dropship_tracking,
        name="dropship_tracking",
    ),
    path("fulfillment/vendor/<str:token>/", views.vendor_shipment, name="vendor_shipment"),
    path("fulfillment/pickup/", views.pickup_index, name="pickup_index"),
    path("fulfillment/pickup/<int:location_id>/", views.pickup_queue, name="pickup_queue"),
    path(
        "fulfillment/pickup/<int:location_id>/handover/",
        views.pickup_handover,
        name="pickup_handover",
    ),
    path(
        "fulfillment/pickup/<int:location_id>/<int:pk>/ready/",
        views.pickup_mark_ready,
        name="pickup_mark_ready",
    ),
    path(
        "fulfillment/pickup/<int:location_id>/<int:pk>/cancel/",
        views.pickup_cancel,
        name="pickup_cancel",
    ),
    path("fulfillment/local-delivery/", views.local_delivery_queue, name="local_delivery_queue"),
    path("fulfillment/local-delivery/route/", views.route_sheet, name="route_sheet"),
    path(
        "fulfillment/local-delivery/<int:pk>/",
        views.local_delivery_shipment,
        name="local_delivery_shipment",
    ),
    path(
        "fulfillment/local-delivery/<int:pk>/schedule/",
        views.local_delivery_schedule,
        name="local_delivery_schedule",
    ),
    path(
        "fulfillment/local-delivery/<int:pk>/out/",
        views.local_delivery_out,
        name="local_delivery_out",
    ),
    path(
        "fulfillment/local-delivery/<int:pk>/delivered/",
        views.local_delivery_done,
        name="local_delivery_done",
    ),
    path(
        "fulfillment/local-delivery/<int:pk>/failed/",
        views.local_delivery_failed,
        name="local_delivery_failed",
    ),
    path("fulfillment/zones/", views.zone_list, name="zone_list"),
    path("fulfillment/zones/<int:pk>/", views.zone_edit, name="zone_edit"),
    path("fulfillment/zones/<int:pk>/windows/", views.zone_window_save, name="zone_window_save"),
]

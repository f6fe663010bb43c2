"""Fulfillment pages, under fulfillment/."""

from django.urls import path

from orders import views_fulfillment as views

urlpatterns = [
    path("fulfillment/", views.fulfillment_home, name="fulfillment"),
    path("fulfillment/shipments/<int:pk>/", views.shipment_detail, name="shipment_detail"),
    path("fulfillment/shipments/<int:pk>/pick/", views.shipment_pick, name="shipment_pick"),
    path("fulfillment/shipments/<int:pk>/cancel/", views.shipment_cancel, name="shipment_cancel"),
    path("fulfillment/shipments/<int:pk>/pack/", views.pack, name="pack"),
    path("fulfillment/shipments/<int:pk>/pack/close/", views.pack_close, name="pack_close"),
    path("fulfillment/shipments/<int:pk>/pack/restart/", views.pack_reset, name="pack_reset"),
    path("fulfillment/shipments/<int:pk>/slip/", views.packing_slip, name="packing_slip"),
    path("fulfillment/shipments/<int:pk>/ship/", views.ship, name="ship"),
    path("fulfillment/pick-lists/new/", views.pick_list_create, name="pick_list_create"),
    path("fulfillment/pick-lists/<int:pk>/", views.pick_list_detail, name="pick_list_detail"),
    path("fulfillment/pick-lists/<int:pk>/print/", views.pick_list_print, name="pick_list_print"),
    path(
        "fulfillment/pick-lists/<int:pk>/picked/",
        views.pick_list_complete,
        name="pick_list_complete",
    ),
    path("fulfillment/notices/<int:pk>/resend/", views.notice_resend, name="notice_resend"),
]

from django.urls import path

from inventory import views

# Merged into inventory/urls.py (app_name "inventory").
urlpatterns = [
    path("stock/", views.stock_list, name="stock_list"),
    path("stock/<int:variant_id>/", views.variant_stock, name="variant_stock"),
    path("stock/<int:variant_id>/adjust/", views.stock_adjust, name="stock_adjust"),
    path("stock/<int:variant_id>/transfer/", views.stock_transfer, name="stock_transfer"),
    path("backorders/", views.backorder_queue, name="backorder_queue"),
    path("backorders/<int:backorder_id>/", views.backorder_detail, name="backorder_detail"),
]

from inventory import urls_receiving, urls_stock

app_name = "inventory"

urlpatterns = [*urls_stock.urlpatterns, *urls_receiving.urlpatterns]

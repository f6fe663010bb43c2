from orders import urls_flows, urls_fulfillment, urls_intake, urls_review

app_name = "orders"

urlpatterns = [
    *urls_review.urlpatterns,
    *urls_intake.urlpatterns,
    *urls_fulfillment.urlpatterns,
    *urls_flows.urlpatterns,
]

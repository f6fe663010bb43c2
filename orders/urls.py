from orders import urls_intake, urls_review

app_name = "orders"

urlpatterns = [*urls_review.urlpatterns, *urls_intake.urlpatterns]

from django.urls import path

from returns import views

app_name = "returns"

urlpatterns = [
    path("", views.return_queue, name="queue"),
    path("new/", views.return_new, name="new"),
    path("receive/", views.return_scan, name="scan"),
    path("<int:pk>/", views.return_detail, name="detail"),
    path("<int:pk>/approve/", views.return_approve, name="approve"),
    path("<int:pk>/decline/", views.return_decline, name="decline"),
    path("<int:pk>/cancel/", views.return_cancel, name="cancel"),
    path("<int:pk>/receive/", views.return_receive, name="receive"),
    path("<int:pk>/close/", views.return_close, name="close"),
    path("<int:pk>/lines/<int:line_id>/inspect/", views.return_line_inspect, name="inspect"),
    path("<int:pk>/refund/", views.return_refund, name="refund"),
    path("refunds/", views.refund_queue, name="refund_queue"),
    path("credit/<int:customer_id>/", views.store_credit, name="store_credit"),
    path("refunds/<int:pk>/", views.refund_detail, name="refund_detail"),
    path("refunds/<int:pk>/issue/", views.refund_issue, name="refund_issue"),
    path("refunds/<int:pk>/approve/", views.refund_approve, name="refund_approve"),
    path("refunds/<int:pk>/cancel/", views.refund_cancel, name="refund_cancel"),
    path("policy/edit/", views.policy_edit, name="policy_edit"),
    # Public: the storefront links to these.
    path("policy/", views.policy_page, name="policy_page"),
    path("policy.json", views.policy_json, name="policy_json"),
    path("request/", views.public_request, name="public_request"),
    path("request/items/", views.public_items, name="public_items"),
]

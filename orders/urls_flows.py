"""Filled in by the fulfillment work."""

urlpatterns: list = []

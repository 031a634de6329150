"""URLs: the console pages (the KMS API is routed by keys.api.middleware before these)."""

from django.urls import include, path

urlpatterns = [
    path("", include("keys.console.urls")),
]

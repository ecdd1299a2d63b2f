from django.urls import path

from apps.integrations.apis import LocalObjectApi, LocalPartApi

urlpatterns = [
    path("storage/local/o/<str:bucket>/<path:key>", LocalObjectApi.as_view(), name="storage-local-object"),
    path("storage/local/part/<str:bucket>/<path:key>", LocalPartApi.as_view(), name="storage-local-part"),
]

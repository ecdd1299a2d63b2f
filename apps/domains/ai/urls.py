from django.urls import path

from . import apis

urlpatterns = [
    path("ai/ocr/", apis.OcrSubmitApi.as_view(), name="ai-ocr"),
]

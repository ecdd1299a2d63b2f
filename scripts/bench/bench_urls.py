"""Benchmark-only URLs: every real route, plus the bare Django JSON view the job status poll is measured against."""

from django.http import JsonResponse
from django.urls import path

from apps.api.config.urls import urlpatterns as real_urlpatterns


def bare_json(request):
    return JsonResponse({"status": "RUNNING", "progress": 40})


urlpatterns = [path("bench/bare/", bare_json), *real_urlpatterns]

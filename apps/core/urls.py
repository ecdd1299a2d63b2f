from django.urls import path

from apps.core.apis import MeApi, TokenObtainApi, TokenRefreshApi

urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="auth-token"),
    path("auth/token/refresh/", TokenRefreshApi.as_view(), name="auth-token-refresh"),
    path("auth/me/", MeApi.as_view(), name="auth-me"),
]

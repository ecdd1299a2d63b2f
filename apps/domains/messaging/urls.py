from django.urls import path

from apps.domains.messaging import apis, apis_sends, apis_webhooks

urlpatterns = [
    path("messaging/profile/", apis.MessagingProfileApi.as_view(), name="messaging-profile"),
    path("messaging/profile/verify-sender/", apis.MessagingVerifySenderApi.as_view(),
         name="messaging-verify-sender"),
    path("messaging/credits/", apis.MessagingCreditsApi.as_view(), name="messaging-credits"),
    # Sends (apis_sends.py)
    path("messaging/sends/", apis_sends.SendListCreateApi.as_view(), name="messaging-send-list"),
    path("messaging/sends/preview/", apis_sends.SendPreviewApi.as_view(), name="messaging-send-preview"),
    path("messaging/sends/<int:pk>/", apis_sends.SendDetailApi.as_view(), name="messaging-send-detail"),
    path("messaging/sends/<int:pk>/recipients/", apis_sends.SendRecipientListApi.as_view(),
         name="messaging-send-recipients"),
    path("messaging/sends/<int:pk>/cancel/", apis_sends.SendCancelApi.as_view(), name="messaging-send-cancel"),
    path("messaging/webhooks/solapi/<str:secret>/", apis_webhooks.SolapiWebhookApi.as_view(),
         name="messaging-webhook-solapi"),
]

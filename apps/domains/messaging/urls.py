from django.urls import path

from apps.domains.messaging import apis, apis_webhooks

urlpatterns = [
    path("messaging/profile/", apis.MessagingProfileApi.as_view(), name="messaging-profile"),
    path("messaging/profile/verify-sender/", apis.MessagingVerifySenderApi.as_view(),
         name="messaging-verify-sender"),
    path("messaging/credits/", apis.MessagingCreditsApi.as_view(), name="messaging-credits"),
    path("messaging/webhooks/solapi/<str:secret>/", apis_webhooks.SolapiWebhookApi.as_view(),
         name="messaging-webhook-solapi"),
]

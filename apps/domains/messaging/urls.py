from django.urls import path

from apps.domains.messaging import apis, apis_catalog, apis_sends, apis_webhooks

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
    path("messaging/sends/<int:pk>/outbox/", apis_sends.SendOutboxApi.as_view(), name="messaging-send-outbox"),
    path("messaging/sends/<int:pk>/cancel/", apis_sends.SendCancelApi.as_view(), name="messaging-send-cancel"),
    path("messaging/webhooks/solapi/<str:secret>/", apis_webhooks.SolapiWebhookApi.as_view(),
         name="messaging-webhook-solapi"),
]

# The catalog: templates, ad consents, the opt-out list, automatic notice settings (apis_catalog.py).
urlpatterns += [
    path("messaging/templates/", apis_catalog.TemplateListCreateApi.as_view(), name="messaging-templates"),
    path("messaging/templates/<int:pk>/", apis_catalog.TemplateDetailApi.as_view(), name="messaging-template"),
    path("messaging/templates/<int:pk>/sync/", apis_catalog.TemplateSyncApi.as_view(),
         name="messaging-template-sync"),
    path("messaging/consents/", apis_catalog.ConsentListCreateApi.as_view(), name="messaging-consents"),
    path("messaging/consents/<int:pk>/withdraw/", apis_catalog.ConsentWithdrawApi.as_view(),
         name="messaging-consent-withdraw"),
    path("messaging/opt-outs/", apis_catalog.OptOutListCreateApi.as_view(), name="messaging-opt-outs"),
    path("messaging/opt-outs/<int:pk>/", apis_catalog.OptOutDetailApi.as_view(), name="messaging-opt-out"),
    path("messaging/notices/", apis_catalog.NoticeSettingListApi.as_view(), name="messaging-notices"),
    path("messaging/notices/<str:kind>/", apis_catalog.NoticeSettingDetailApi.as_view(), name="messaging-notice"),
]

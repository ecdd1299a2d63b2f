from django.urls import path

from apps.domains.messaging import apis, apis_catalog

urlpatterns = [
    path("messaging/profile/", apis.MessagingProfileApi.as_view(), name="messaging-profile"),
    path("messaging/profile/verify-sender/", apis.MessagingVerifySenderApi.as_view(),
         name="messaging-verify-sender"),
    path("messaging/credits/", apis.MessagingCreditsApi.as_view(), name="messaging-credits"),
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

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.apis import HealthAliasApi, HealthApi

api_v1 = [
    # First: the job status poll is by far the most requested URL, and resolving walks the list in order.
    path("", include("apps.jobs.urls")),
    # Second: every playing student's player posts a watch progress heartbeat every 10 s (me/videos/<id>/progress/).
    path("", include("apps.domains.me.urls")),
    path("", include("apps.core.urls")),
    path("", include("apps.domains.students.urls")),
    path("", include("apps.domains.lectures.urls")),
    path("", include("apps.domains.enrollment.urls")),
    path("", include("apps.domains.enrollment.excel.urls")),
    path("", include("apps.integrations.urls")),
    path("", include("apps.domains.video.urls")),
    path("", include("apps.domains.messaging.urls")),
    path("", include("apps.domains.ai.urls")),
    path("", include("apps.domains.exams.urls")),
    path("", include("apps.domains.accounts.urls")),
]

urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
    path("health/", HealthAliasApi.as_view()),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
]

handler400 = "apps.core.error_views.bad_request"
handler403 = "apps.core.error_views.permission_denied"
handler404 = "apps.core.error_views.not_found"
handler500 = "apps.core.error_views.server_error"

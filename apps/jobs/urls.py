from django.urls import path

from apps.jobs import apis

urlpatterns = [
    path("jobs/", apis.JobListApi.as_view(), name="job-list"),
    path("jobs/<uuid:job_id>/", apis.job_status, name="job-detail"),
    path("jobs/<uuid:job_id>/cancel/", apis.JobCancelApi.as_view(), name="job-cancel"),
    path("jobs/<uuid:job_id>/events/", apis.JobEventsApi.as_view(), name="job-events"),
    path("jobs/<uuid:job_id>/events/ticket/", apis.JobEventsTicketApi.as_view(), name="job-events-ticket"),
    # The front end already polls this historical path for Excel imports; same body as job-detail.
    path("enrollments/excel_job_status/<uuid:job_id>/", apis.job_status, name="excel-job-status"),
    path("internal/jobs/<uuid:job_id>/claim/", apis.InternalJobClaimApi.as_view(), name="internal-job-claim"),
    path("internal/jobs/<uuid:job_id>/heartbeat/", apis.InternalJobHeartbeatApi.as_view(),
         name="internal-job-heartbeat"),
    path("internal/jobs/<uuid:job_id>/progress/", apis.InternalJobProgressApi.as_view(), name="internal-job-progress"),
    path("internal/jobs/<uuid:job_id>/complete/", apis.InternalJobCompleteApi.as_view(), name="internal-job-complete"),
    path("internal/jobs/<uuid:job_id>/fail/", apis.InternalJobFailApi.as_view(), name="internal-job-fail"),
]

from django.urls import path

from apps.domains.accounts import apis

urlpatterns = [
    path("auth/parent/activate/", apis.ParentActivateApi.as_view(), name="auth-parent-activate"),
    path("parents/", apis.ParentListApi.as_view(), name="parent-list"),
    path("parents/invites/", apis.ParentInviteApi.as_view(), name="parent-invite"),
    path("parents/<int:pk>/children/<int:student_id>/", apis.ParentChildApi.as_view(), name="parent-child"),
    path("parents/<int:pk>/deactivate/", apis.ParentDeactivateApi.as_view(), name="parent-deactivate"),
]

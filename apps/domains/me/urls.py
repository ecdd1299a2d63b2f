"""Issue 14: the student's and parent's own API under /api/v1/me/."""

urlpatterns: list = []

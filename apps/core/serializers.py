from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers

from apps.core.models import User


class MeOutputSerializer(serializers.ModelSerializer):
    tenant_code = serializers.CharField(source="tenant.code", default=None)
    student_id = serializers.SerializerMethodField(help_text="학생 계정이면 그 학생의 id, 아니면 null")

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "role", "tenant_id", "tenant_code", "student_id"]

    def get_student_id(self, user) -> int | None:
        # Joined with the user by UserManager: no query.
        try:
            return user.student.id
        except ObjectDoesNotExist:
            return None

from rest_framework import serializers

from apps.core.models import User


class MeOutputSerializer(serializers.ModelSerializer):
    tenant_code = serializers.CharField(source="tenant.code", default=None)

    class Meta:
        model = User
        fields = ["id", "username", "first_name", "last_name", "role", "tenant_id", "tenant_code"]

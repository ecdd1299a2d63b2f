import pytest
from django.contrib import admin
from django.core.management import call_command
from django.test import Client

from apps.core.models import Role


@pytest.fixture
def operator(client, make_user):
    user = make_user(None, Role.ADMIN, is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def tenant_owned_models():
    return [m for m in admin.site._registry if any(f.name == "tenant" for f in m._meta.get_fields())]


def test_every_tenant_owned_model_has_admin_with_tenant_filter_and_search():
    models = tenant_owned_models()

    assert {m._meta.label for m in models} >= {"students.Student", "lectures.Lecture", "lectures.Session",
                                               "enrollment.Enrollment", "enrollment.SessionEnrollment",
                                               "enrollment.Attendance", "core.User"}
    for model in models:
        model_admin = admin.site._registry[model]
        assert "tenant" in model_admin.list_filter, model
        assert model_admin.search_fields, model


@pytest.mark.parametrize("label", ["students.student", "lectures.lecture", "lectures.session",
                                   "enrollment.enrollment", "enrollment.sessionenrollment", "enrollment.attendance"])
def test_changelists_render_filtered_by_tenant_and_searched(operator, tenant, make_student, make_lecture,
                                                            make_session, make_enrollment, make_attendance, label):
    lecture = make_lecture(tenant)
    make_attendance(make_session(lecture), make_enrollment(lecture, make_student(tenant)))
    app, model = label.split(".")

    response = operator.get(f"/admin/{app}/{model}/?tenant__id__exact={tenant.id}&q=수학")

    assert response.status_code == 200


def test_deleting_a_student_in_the_admin_also_removes_their_login(operator, tenant, make_student, make_user):
    from apps.core.models import User
    from apps.domains.students.models import Student

    login = make_user(tenant, Role.STUDENT)
    student = make_student(tenant, user=login)

    response = operator.post(f"/admin/students/student/{student.id}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert Student.objects.filter(id=student.id).exists() is False
    assert User.objects.filter(id=login.id).exists() is False


def test_admin_static_files_are_served_by_the_api_once_collected(settings, tmp_path):
    # Production runs gunicorn, which serves no files: without this the admin has no CSS or JS.
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)

    response = Client().get("/static/admin/css/base.css")  # a new client loads the middleware afresh

    assert settings.DEBUG is False
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == (tmp_path / "admin" / "css" / "base.css").read_bytes()

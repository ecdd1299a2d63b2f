import pytest

EXPECTED_PATHS = [
    "/api/v1/students/", "/api/v1/students/{id}/", "/api/v1/students/{id}/restore/", "/api/v1/students/deleted/",
    "/api/v1/students/deleted_duplicates/", "/api/v1/students/deleted_duplicates/fix/", "/api/v1/lectures/",
    "/api/v1/lectures/{id}/", "/api/v1/lectures/{lecture_id}/sessions/", "/api/v1/sessions/{id}/",
    "/api/v1/sessions/{id}/attendance/", "/api/v1/enrollments/", "/api/v1/enrollments/{id}/",
    "/api/v1/auth/token/", "/api/v1/auth/me/", "/health",
]


@pytest.fixture
def schema(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_lists_the_paths(schema):
    assert set(EXPECTED_PATHS) <= set(schema["paths"])
    assert "/health/" not in schema["paths"]


def test_student_list_documents_filters_and_pagination(schema):
    operation = schema["paths"]["/api/v1/students/"]["get"]
    names = {p["name"] for p in operation["parameters"]}

    assert {"name", "school", "grade", "school_type", "lecture", "search", "ordering", "page"} <= names
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "PaginatedStudentOutputList")


def test_the_student_search_says_phones_may_be_typed_with_dashes(schema):
    operation = schema["paths"]["/api/v1/students/"]["get"]
    search = next(p for p in operation["parameters"] if p["name"] == "search")

    assert "010-1234" in search["description"]


def test_swagger_ui_is_served(client, db):
    assert client.get("/api/docs/").status_code == 200


def test_schema_generates_without_warnings(db, tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "/api/v1/students/" in (tmp_path / "schema.yml").read_text()

import pytest


@pytest.mark.parametrize("query, field", [
    ("page_size=-1", "page_size"),
    ("page_size=0", "page_size"),
    ("page_size=501", "page_size"),
    ("page_size=99999999999999999999", "page_size"),
    ("page_size=2.5", "page_size"),
    ("page=0", "page"),
    ("page=-3", "page"),
    ("page=1.5", "page"),
    ("page=99999999999999999999", "page"),
])
def test_page_and_page_size_outside_their_range_are_validation_errors(admin_client, query, field):
    response = admin_client.get(f"/api/v1/students/?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"
    assert list(response.json()["details"]) == [field]


def test_page_size_within_range_pages(admin_client, tenant, make_student):
    for _ in range(3):
        make_student(tenant)

    response = admin_client.get("/api/v1/students/?page_size=2&page=2")

    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert len(response.json()["results"]) == 1


def test_page_past_the_last_is_not_found(admin_client):
    response = admin_client.get("/api/v1/students/?page=7")

    assert response.status_code == 404


def test_schema_states_the_pagination_bounds(client, db):
    operation = client.get("/api/schema/?format=json").json()["paths"]["/api/v1/students/"]["get"]
    schemas = {p["name"]: p["schema"] for p in operation["parameters"]}

    assert schemas["page"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
    assert schemas["page_size"] == {"type": "integer", "minimum": 1, "maximum": 500}

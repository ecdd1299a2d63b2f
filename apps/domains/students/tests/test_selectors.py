from datetime import timedelta

from django.utils import timezone

from apps.domains.students.selectors import student_deleted_duplicates, student_purge_candidates


def test_duplicates_groups_deleted_twins_oldest_deletion_first(tenant, other_tenant, make_student):
    now = timezone.now()
    newer = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now - timedelta(days=1))
    oldest = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now - timedelta(days=5))
    middle = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=now - timedelta(days=3))
    # Not duplicates: a live twin, a lone deleted student, the same identity in another tenant
    make_student(tenant, name="김철수", parent_phone="01012345678")
    make_student(tenant, name="이영희", parent_phone="01012345678", deleted_at=now)
    make_student(other_tenant, name="김철수", parent_phone="01012345678", deleted_at=now)

    groups = student_deleted_duplicates(tenant=tenant)

    assert len(groups) == 1
    assert (groups[0].tenant_id, groups[0].name, groups[0].parent_phone) == (tenant.id, "김철수", "01012345678")
    assert [s.id for s in groups[0].students] == [oldest.id, middle.id, newer.id]
    assert groups[0].keep.id == oldest.id
    assert [s.id for s in groups[0].remove] == [middle.id, newer.id]


def test_duplicates_without_tenant_spans_every_tenant(tenant, other_tenant, make_student):
    now = timezone.now()
    for t in (tenant, other_tenant):
        make_student(t, name="김철수", parent_phone="01012345678", deleted_at=now)
        make_student(t, name="김철수", parent_phone="01012345678", deleted_at=now)

    groups = student_deleted_duplicates()

    assert sorted(g.tenant_id for g in groups) == sorted([tenant.id, other_tenant.id])


def test_duplicates_tie_on_deletion_time_keeps_lowest_id(tenant, make_student):
    same = timezone.now()
    first = make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=same)
    make_student(tenant, name="김철수", parent_phone="01012345678", deleted_at=same)

    assert student_deleted_duplicates(tenant=tenant)[0].keep.id == first.id


def test_purge_candidates_are_strictly_before_cutoff(tenant, make_student):
    cutoff = timezone.now() - timedelta(days=30)
    old = make_student(tenant, deleted_at=cutoff - timedelta(seconds=1))
    make_student(tenant, deleted_at=cutoff)
    make_student(tenant, deleted_at=cutoff + timedelta(days=1))
    make_student(tenant)

    assert [s.id for s in student_purge_candidates(cutoff=cutoff)] == [old.id]


def test_deleted_duplicate_groups_are_read_in_one_query_however_many(tenant, make_student,
                                                                     django_assert_num_queries):
    from django.utils import timezone

    from apps.domains.students.selectors import student_deleted_duplicates

    for n in range(5):
        for _ in range(2):
            make_student(tenant, name=f"학생{n}", parent_phone=f"0101111000{n}", deleted_at=timezone.now())
    make_student(tenant, name="혼자", parent_phone="01022220000", deleted_at=timezone.now())

    with django_assert_num_queries(1):
        groups = student_deleted_duplicates(tenant=tenant)

    assert [(g.name, len(g.students)) for g in groups] == [(f"학생{n}", 2) for n in range(5)]

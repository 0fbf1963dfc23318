from __future__ import annotations

import pytest

from audit_app.models import AuditLog

pytestmark = pytest.mark.django_db


def test_it_shows_staff_every_users_entries_with_filters_and_search(staff_client, emit_task, alice, bob):
    emit_task("task.created", alice)
    bob_event = emit_task("task.deleted", bob)

    listing = staff_client.get("/admin/audit_app/auditlog/", {"action": "task.deleted"})
    search = staff_client.get("/admin/audit_app/auditlog/", {"q": "bob@example.com"})
    by_id = staff_client.get("/admin/audit_app/auditlog/", {"q": str(bob_event.id)})
    everything = staff_client.get("/admin/audit_app/auditlog/")

    assert listing.status_code == search.status_code == by_id.status_code == 200
    assert list(listing.context["cl"].result_list) == list(AuditLog.objects.filter(actor_id=bob.pk))
    assert [e.actor_id for e in search.context["cl"].result_list] == [bob.pk]
    assert [e.event_id for e in by_id.context["cl"].result_list] == [bob_event.id]
    assert {e.actor_id for e in everything.context["cl"].result_list} == {alice.pk, bob.pk}


def test_it_keeps_the_admin_read_only(staff_client, emit_task, alice):
    emit_task("task.created", alice)
    entry = AuditLog.objects.get()

    assert staff_client.get("/admin/audit_app/auditlog/add/").status_code == 403
    assert staff_client.get(f"/admin/audit_app/auditlog/{entry.pk}/change/").status_code == 200
    assert staff_client.post(f"/admin/audit_app/auditlog/{entry.pk}/delete/").status_code == 403
    staff_client.post(f"/admin/audit_app/auditlog/{entry.pk}/change/", {"action": "forged"})
    entry.refresh_from_db()
    assert entry.action == "task.created"


def test_it_answers_a_search_that_is_not_a_uuid(staff_client):
    assert staff_client.get("/admin/audit_app/auditlog/", {"q": "not-a-uuid"}).status_code == 200

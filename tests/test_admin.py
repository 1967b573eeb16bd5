"""The Django admin: operators' edits are audited and reach the search index."""

import pytest

from innocommons.catalog.models import SearchOutbox
from innocommons.core.models import AuditEntry
from tests import factories

pytestmark = pytest.mark.django_db


def test_admin_edits_are_audited_and_requeued(client, world) -> None:
    r = factories.resource(world.provider, actor=world.provider_member, title_zh="后台编辑")
    SearchOutbox.objects.all().delete()
    admin = factories.user("root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    page = client.get(f"/admin/catalog/resource/{r.pk}/change/")
    assert page.status_code == 200
    org_page = client.get(f"/admin/accounts/organisation/{world.provider.pk}/change/")
    assert org_page.status_code == 200
    resp = client.post(f"/admin/catalog/resource/{r.pk}/delete/", {"post": "yes"})
    assert resp.status_code == 302
    entry = AuditEntry.objects.get(action="resource.admin_delete")
    assert entry.actor == admin and entry.before["title"] == "后台编辑"
    assert SearchOutbox.objects.filter(resource_id=r.pk).exists()
    assert client.get("/admin/core/auditentry/").status_code == 200

"""Production static files: every asset a page references exists in the manifest."""

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_pages_render_with_the_production_manifest(client, settings, tmp_path) -> None:
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", interactive=False, verbosity=0)
    for url in ("/", "/search/?q=x", "/login/", "/signup/", "/api/v1/docs"):
        resp = client.get(url)
        assert resp.status_code == 200, url
    html = client.get("/").content.decode()
    assert "/static/vendor/htmx/htmx.min." in html and "/static/web/site." in html

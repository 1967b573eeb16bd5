"""WSGI entry point used by gunicorn (`innocommons serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "innocommons.settings")
application = get_wsgi_application()

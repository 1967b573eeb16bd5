"""WSGI entry point used by gunicorn (`innocommons serve`)."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "innocommons.settings")
application = get_wsgi_application()

# What is loaded by now lives as long as the worker: the garbage collector need not scan
# it again on every full collection (those scans made a p95 tail on the statistics API).
gc.freeze()

"""WSGI entry point (gunicorn consoleclone.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consoleclone.settings")
application = get_wsgi_application()

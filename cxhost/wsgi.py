"""
WSGI config for cxhost project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'cxhost.settings')

application = get_wsgi_application()

# The embedded default (no REDIS_URL) has no beat: the serving process runs the periodic tasks itself. Here, not
# in AppConfig.ready: only a process that serves imports this (runserver's child, not its reloading parent).
from cxhost import periodic  # noqa: E402

periodic.start()

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# A production server never defaults to DEBUG: unset here means off (then the process refuses to start on
# development secrets), whatever ALLOWED_HOSTS says. A reverse proxy in front sends a local Host header,
# which the ALLOWED_HOSTS rule (config/settings.py, meant for runserver) would take for development.
os.environ.setdefault("DJANGO_DEBUG", "0")
application = get_asgi_application()

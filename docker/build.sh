#!/bin/sh
# The image's build steps, run by the Dockerfile (`RUN ... sh docker/build.sh`, in the source folder
# /app) and, outside Docker, by .ci/docker-build-check in a throwaway virtualenv with the Dockerfile's ENV.
set -eu

# Install the service and its dependencies into the current Python (the image's, or CI's virtualenv);
# pyproject.toml keeps Django on the line the test suite runs.
python -m pip install .

# Admin and API docs assets into var/static (STATIC_ROOT), served by the proxy in front.
# collectstatic loads config/settings.py, which (DJANGO_DEBUG=0, from the Dockerfile's ENV) refuses to
# start without the two secrets and DATABASE_URL. The BUILD_ONLY values below exist for this one
# command (shell prefix assignments): throwaway, not the development defaults, never used to sign
# anything, and not in the image's ENV; the real ones come from the container's environment at run
# time. Settings only parses DATABASE_URL; nothing connects to it (.invalid never resolves).
DJANGO_SECRET_KEY=BUILD_ONLY-django-secret-key-not-for-runtime-0123456789 \
JWT_SIGNING_KEY=BUILD_ONLY-jwt-signing-key-not-for-runtime-0123456789 \
DATABASE_URL=postgres://build_only@build-only.invalid:5432/build_only \
  python manage.py collectstatic --noinput

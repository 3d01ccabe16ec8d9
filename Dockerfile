FROM python:3.12-slim
# Runtime environment. .ci/docker-build-check reads these ENV lines and runs docker/build.sh with them
# (keep them literal KEY=value pairs). No secrets here: they come from the container's environment.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_DEBUG=0
WORKDIR /app
COPY . .
# pip install + collectstatic (build-only secrets inside the script, never in ENV); no pip cache in the image.
RUN PIP_NO_CACHE_DIR=1 sh docker/build.sh
EXPOSE 8000
# migrate connects as the owner (DATABASE_MIGRATE_URL, else the DATABASE_URL user) and provisions the
# runtime role; gunicorn then serves as the runtime role (DATABASE_URL's own login, or assume_role).
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn config.wsgi -w ${WEB_CONCURRENCY:-2} -b 0.0.0.0:8000"]

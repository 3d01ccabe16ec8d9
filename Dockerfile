FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_DEBUG=0
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir . && DATABASE_URL=postgres://build@localhost/build python manage.py collectstatic --noinput
EXPOSE 8000
# Migrations run as the DATABASE_URL owner and provision the runtime role; gunicorn then serves as it.
CMD ["sh", "-c", "python manage.py migrate --noinput && exec gunicorn config.wsgi -w ${WEB_CONCURRENCY:-2} -b 0.0.0.0:8000"]

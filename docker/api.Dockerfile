# The API image: gunicorn serving apps.api.config.wsgi with the prod settings.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=apps.api.config.settings.prod

RUN groupadd --system academy && useradd --system --gid academy --home-dir /app academy
WORKDIR /app

COPY requirements/ requirements/
RUN pip install -r requirements/api.txt

COPY --chown=academy:academy apps/ apps/
COPY --chown=academy:academy manage.py docker/api_entrypoint.sh ./

USER academy
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
ENTRYPOINT ["./api_entrypoint.sh"]

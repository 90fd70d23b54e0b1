# The bot env (Python 3.10, Rasa 3.6.21): the rasa server (`bot_runtime.rasa_server`), the action
# server (`bot_runtime.action_server`) and the webhook gateway (`bot_runtime.gateway`).
# Build from the repository root: docker build -f deploy/docker/bot.Dockerfile -t powerdesk-bot .
FROM python:3.10-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PYTHONPATH=/srv/powerdesk PIP_DISABLE_PIP_VERSION_CHECK=1 \
    RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 POWERDESK_VAR_DIR=/var/lib/powerdesk
WORKDIR /srv/powerdesk

COPY requirements/bot.lock requirements/bot.lock
RUN pip install --no-cache-dir --no-deps -r requirements/bot.lock

COPY bot bot
COPY data data
COPY platforms platforms
COPY bot_runtime bot_runtime
COPY actions actions
COPY dialogue dialogue
COPY clients clients

# The model is trained into the image, so that a replica starts with the model it was tested with
FROM base AS model
RUN rasa train --config bot/config.yml --domain bot/domain --data data/nlu bot/rules \
        --out models --fixed-model-name powerdesk --quiet

FROM base
COPY --from=model /srv/powerdesk/models/powerdesk.tar.gz models/powerdesk.tar.gz
RUN useradd --system --uid 10001 --home-dir /srv/powerdesk powerdesk \
    && mkdir -p /var/lib/powerdesk && chown powerdesk /var/lib/powerdesk
USER 10001
# Only the action server keeps a file here (its journal of reports waiting for the backend), on a
# volume of its own; the gateways and the rasa servers keep their state in Redis and PostgreSQL
# (docs/architecture.md, "Deploy").

EXPOSE 5005 5055 5006
CMD ["python", "-m", "bot_runtime.rasa_server", "--host", "0.0.0.0", "--port", "5005", "--model", "models/powerdesk.tar.gz", "--endpoints", "bot/endpoints.yml", "--credentials", "bot/credentials.yml"]

#!/usr/bin/env bash
# Trains models/powerdesk.tar.gz when the training inputs (bot/, data/nlu/ and our own NLU
# component, bot_runtime/intent_classifier.py; not the runtime credentials.yml and endpoints.yml, nor bytecode caches)
# changed since the last training, judged by a content hash.
set -euo pipefail
cd "$(dirname "$0")/.."

hash=$(find bot data/nlu bot_runtime/intent_classifier.py -type f ! -name credentials.yml ! -name endpoints.yml ! -path '*/__pycache__/*' -print0 \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
if [ -f models/powerdesk.tar.gz ] && [ "$(cat models/.inputs-hash 2>/dev/null)" = "$hash" ]; then
    echo "model: up to date (inputs $hash)"
    exit 0
fi
echo "model: training (inputs $hash changed)…"
start=$(date +%s)
.venv-bot/bin/rasa train --config bot/config.yml --domain bot/domain \
    --data data/nlu bot/rules --out models --fixed-model-name powerdesk --quiet
echo "$hash" > models/.inputs-hash
echo "model: trained in $(( $(date +%s) - start )) s"

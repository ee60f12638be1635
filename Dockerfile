# Inkwell in one image: `bot` (the chat bot and web story room, the default) and `worker`
# (a Ray node serving the engine); see docker/entrypoint.sh and compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/data/hf

WORKDIR /app
# Dependencies first, so code changes don't reinstall torch.
COPY pyproject.toml README.md ./
RUN mkdir -p bot core adapters storage \
    && pip install --no-compile '.[ray]' \
    && pip uninstall -y inkwell
COPY bot ./bot
COPY core ./core
COPY adapters ./adapters
COPY storage ./storage
COPY config.toml ./
COPY docker ./docker
RUN pip install --no-compile --no-deps .

RUN useradd --create-home --uid 1000 inkwell && mkdir -p /data && chown inkwell /data
USER inkwell
VOLUME ["/data"]
# 8080: the story room and /metrics; 6379, 10001 and 8000-8100: Ray (worker role).
EXPOSE 8080

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["bot"]

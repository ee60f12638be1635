# Inkwell: the bot and its web story room in one image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HOME=/data/hf

WORKDIR /app
# Dependencies first, so code changes don't reinstall torch.
COPY pyproject.toml README.md ./
RUN mkdir -p bot core adapters storage \
    && pip install --no-compile . \
    && pip uninstall -y inkwell
COPY bot ./bot
COPY core ./core
COPY adapters ./adapters
COPY storage ./storage
COPY config.toml ./
RUN pip install --no-compile --no-deps .

RUN useradd --create-home --uid 1000 inkwell && mkdir -p /data && chown inkwell /data
USER inkwell
VOLUME ["/data"]
EXPOSE 8080

# The container's loopback is unreachable from outside, so the room binds to all
# interfaces; config refuses to start without INKWELL_WEB_TOKEN in that case.
ENTRYPOINT ["python", "-m", "bot", "--host", "0.0.0.0", "--data-dir", "/data"]

# A slim image running orderbot as an unprivileged user.
#   docker build -t orderbot .
#   docker run -d --name orderbot --restart unless-stopped --env-file .env \
#     -v "$PWD/config:/app/config:ro" -v "$PWD/outbox:/app/outbox" orderbot
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY setup.cfg pyproject.toml README.md ./
COPY orderbot ./orderbot
COPY config ./config
RUN pip install --no-deps . \
    && useradd --system --uid 10001 --home /app orderbot \
    && mkdir -p /app/outbox \
    && chown orderbot /app/outbox

USER orderbot
# docker stop sends SIGTERM; orderbot finishes emails in flight and exits 0.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "orderbot"]

# Image for the Safeguard worker, sink and dashboard (see docker-compose.yml).
# No ENTRYPOINT: each compose service runs its own `safeguard …` command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY . /app
RUN pip install /app

# Run unprivileged. /data exists and is owned by the app user, so a named volume
# mounted there inherits that ownership and the sink can write the warehouse.
RUN useradd --create-home --uid 10001 safeguard \
    && mkdir -p /data /school \
    && chown safeguard:safeguard /data
USER safeguard

EXPOSE 8501
CMD ["safeguard", "--help"]

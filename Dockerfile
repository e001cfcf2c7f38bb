# mediafix: one image for the web app and the workers.
#   docker build -t mediafix .
#   docker compose up        (see compose.yaml)
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    MEDIAFIX_DATA_DIR=/data \
    MEDIAFIX_OUTPUT_DIR=/output \
    MEDIAFIX_IMPORT_ROOTS=/photos \
    PUID=1000 \
    PGID=1000

RUN apt-get update \
 && apt-get install -y --no-install-recommends libimage-exiftool-perl gosu tini \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[video]'

COPY docker/entrypoint.sh /usr/local/bin/mediafix-entrypoint
RUN chmod 0755 /usr/local/bin/mediafix-entrypoint \
 && mkdir -p /data /output /photos

VOLUME ["/data", "/output"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

# The entrypoint drops root for the PUID/PGID user before running mediafix.
ENTRYPOINT ["tini", "--", "mediafix-entrypoint"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

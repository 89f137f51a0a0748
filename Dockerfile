# hashmatch: the match API (and every command) on Python 3.11. Data (SQLite file, index files) in /data;
# set HASHMATCH_DATABASE_URL for PostgreSQL. Not built in CI: no Docker engine there.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    HASHMATCH_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY matcher ./matcher
COPY indexer ./indexer
COPY config ./config
COPY db ./db
COPY accounts ./accounts
COPY audit ./audit
COPY notices ./notices
COPY guard ./guard
COPY api ./api
COPY cli ./cli
COPY scanner ./scanner
COPY benchmarks ./benchmarks
# pdqhash (the scanner's PDQ) is published as source only: a C++ compiler for the build, removed after
RUN apt-get update && apt-get install -y --no-install-recommends g++ \
    && pip install --no-cache-dir . \
    && apt-get purge -y --auto-remove g++ && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app hashmatch && mkdir /data && chown hashmatch /data
COPY tests/fixtures ./tests/fixtures

USER hashmatch
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["hashmatch"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]

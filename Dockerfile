# hashmatch: the matching core and its command line on Python 3.11.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache

WORKDIR /app
COPY pyproject.toml README.md ./
COPY matcher ./matcher
COPY indexer ./indexer
COPY api ./api
COPY cli ./cli
COPY scanner ./scanner
COPY benchmarks ./benchmarks
# pdqhash (the scanner's PDQ) is published as source only: a C++ compiler for the build, removed after
RUN apt-get update && apt-get install -y --no-install-recommends g++ \
    && pip install --no-cache-dir . \
    && apt-get purge -y --auto-remove g++ && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /app hashmatch
COPY tests/fixtures ./tests/fixtures

USER hashmatch
ENTRYPOINT ["hashmatch"]
CMD ["types"]

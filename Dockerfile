# syntax=docker/dockerfile:1
# One image for every foi-discovery process: the default command serves the web app; compose
# runs the same image as `foi db upgrade`, `foi worker` and `foi beat`.

FROM python:3.11-slim-bookworm AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN python -m venv /opt/foi
WORKDIR /src
# Exactly the packages [tool.setuptools.packages.find] includes (a unit test checks the match).
COPY pyproject.toml ./
COPY foi_core/ foi_core/
COPY crawler/ crawler/
COPY indexer/ indexer/
COPY ingest/ ingest/
COPY search_app/ search_app/
COPY retention/ retention/
COPY cases/ cases/
COPY services/ services/
COPY devstack/ devstack/
COPY demo/ demo/
COPY foi_cli/ foi_cli/
RUN /opt/foi/bin/pip install .


FROM python:3.11-slim-bookworm

# libmagic1 backs python-magic's file-type sniffing; nothing else is needed at run time.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libmagic1 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid so host-side files (./secrets/*) can be made readable to this user alone.
RUN groupadd --system --gid 10001 foi \
    && useradd --system --uid 10001 --gid foi --home-dir /var/lib/foi --shell /usr/sbin/nologin foi \
    && install -d -o foi -g foi -m 0750 /var/lib/foi

COPY --from=build /opt/foi /opt/foi

ENV PATH=/opt/foi/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FOI_STATE_DIR=/var/lib/foi

USER foi
WORKDIR /var/lib/foi
EXPOSE 5000

CMD ["gunicorn", "--bind", "0.0.0.0:5000", "--workers", "4", "--config", "python:search_app.gunicorn_conf", "search_app:create_app()"]

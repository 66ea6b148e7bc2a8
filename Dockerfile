# alertbot: `alertbot run` as a non-root user, every dependency at the version and hash of
# requirements.lock (make lock). SQLite in the /data volume by default; for replicas set
# DATABASE_URL=postgresql+psycopg://… (docker-compose.yml). Health: `alertbot healthcheck`
# asks the bot's own GET /healthz (database, scheduler).

# --- build: compile the matcher's first pass (bot/engine/_wordscan.c) into a venv ---------
FROM python:3.11-slim AS build
# gcc only here: the image that runs has none
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/alertbot
ENV PATH=/opt/alertbot/bin:$PATH \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# the lock first: this layer is rebuilt only when a pin changes
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock && pip check
COPY pyproject.toml setup.py README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY watchlists ./watchlists
COPY samples ./samples
# the bot itself, resolving nothing more (its dependencies are all in the lock)
RUN pip install --no-cache-dir --no-deps . \
    && alertbot --version

# --- run ------------------------------------------------------------------------------------
FROM python:3.11-slim
RUN groupadd --system --gid 10001 alertbot \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --shell /usr/sbin/nologin alertbot \
    && mkdir -p /data \
    && chown alertbot:alertbot /data
COPY --from=build /opt/alertbot /opt/alertbot
# the package carries copies of watchlists/ and samples/; these paths let a volume mounted
# over /app/watchlists (or a SOURCES file of your own) replace them
COPY watchlists /app/watchlists
COPY samples /app/samples
ENV PATH=/opt/alertbot/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    WATCHLIST_DIR=/app/watchlists \
    SOURCES=/app/samples/sources.yaml \
    DATABASE_URL=sqlite:////data/alertbot.db \
    HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    HTTP_ENABLED=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["alertbot", "healthcheck"]
ENTRYPOINT ["alertbot"]
CMD ["run"]

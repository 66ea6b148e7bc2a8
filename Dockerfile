# First version: `alertbot run` with SQLite in /data (mount a volume) or
# DATABASE_URL=postgresql+psycopg://… . Hardening (non-root user, healthcheck)
# comes with the production issue.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY watchlists ./watchlists
COPY samples ./samples
COPY setup.py ./
# gcc only for the build: it compiles the matcher's first pass (bot/engine/_wordscan.c);
# without it the install still works, on a slower pure-Python path.
# Every runtime dependency at the version and hash of requirements.lock (make lock),
# then the bot itself without resolving anything more.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir --require-hashes -r requirements.lock \
    && pip install --no-cache-dir --no-deps . \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
# the package carries copies of watchlists/ and samples/; these point at /app's so
# that a volume mounted over /app/watchlists replaces them
ENV WATCHLIST_DIR=/app/watchlists \
    SOURCES=/app/samples/sources.yaml \
    DATABASE_URL=sqlite:////data/alertbot.db \
    HTTP_HOST=0.0.0.0
VOLUME ["/data"]
ENTRYPOINT ["alertbot"]
CMD ["run"]

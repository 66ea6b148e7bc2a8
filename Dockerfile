# First version: `alertbot run` with SQLite in /data (mount a volume) or
# DATABASE_URL=postgresql+psycopg://… . Hardening (non-root user, healthcheck)
# comes with the production issue.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY watchlists ./watchlists
COPY samples ./samples
RUN pip install --no-cache-dir .
ENV WATCHLIST_DIR=/app/watchlists \
    SOURCES=/app/samples/sources.yaml \
    DATABASE_URL=sqlite:////data/alertbot.db \
    HTTP_HOST=0.0.0.0
VOLUME ["/data"]
ENTRYPOINT ["alertbot"]
CMD ["run"]

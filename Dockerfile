# First version: runs `alertbot scan` on the bundled samples by default.
# (The production image — non-root user, healthcheck, `alertbot run` — comes
# with the pipeline and production issues.)
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY watchlists ./watchlists
COPY samples ./samples
RUN pip install --no-cache-dir .
ENV WATCHLIST_DIR=/app/watchlists
ENTRYPOINT ["alertbot"]
CMD ["scan", "samples/"]

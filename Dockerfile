# alertscale: build with the official Rust image, run in distroless as a non-root user.
#
#   docker build -t alertscale .
#   docker run -p 8085:8085 alertscale            # dry run with the example policies
#
# The release build below is the one `.ci/run` checks on every submission.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin alertscale \
 && mkdir -p /out/var/lib/alertscale

# distroless/cc: glibc and CA certificates, no shell, user `nonroot` (65532).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/alertscale /usr/local/bin/alertscale
# The example policies, the default a ConfigMap mounted at the same path replaces.
COPY policies /etc/alertscale/policies
# The state store lives on a volume.
COPY --from=build --chown=65532:65532 /out/var/lib/alertscale /var/lib/alertscale
VOLUME /var/lib/alertscale
USER 65532:65532
EXPOSE 8085
ENTRYPOINT ["/usr/local/bin/alertscale", "serve"]
CMD ["--policies", "/etc/alertscale/policies", "--state.path", "/var/lib/alertscale/alertscale.redb"]

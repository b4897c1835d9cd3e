#!/usr/bin/env bash
# Builds the runtime image without a Docker daemon or a registry, runs it, and
# checks it the way ECS and Railway use it.
#
#   bash deploy/container-check.sh     # after the release build (scripts/test.sh)
#
# 1. Base: the Dockerfile's runtime base (debian:<release>-slim) made with
#    debootstrap (minbase, trimmed like the slim image), cached as a tarball in
#    $VANGUARD_TOOLS/rootfs/ keyed on the release, imported into a scratch
#    vfs image store under that name.
# 2. Image: the Dockerfile's runtime stage itself, with its two
#    `COPY --from=build` lines pointed at the release binary and site, built
#    by buildah with chroot isolation (so the stage's RUN, user, paths, ENV,
#    USER, HEALTHCHECK, STOPSIGNAL and CMD are the Dockerfile's).
# 3. Run (podman, runc, host network): the image's own CMD and defaults
#    (VANGUARD_ENV=production, SQLite in /app/data), a read-only root
#    filesystem, a data volume; then /health/ready, the HEALTHCHECK command,
#    uid 10001, no capabilities, writes refused outside /app/data, SIGTERM ->
#    exit 0, and the image size against a budget.
# 4. An SPDX SBOM of the image (Debian packages + Rust crates of the server)
#    next to the release binary: $CARGO_TARGET_DIR/vanguard-image.spdx.json.
#
# Env: SERVER_BIN, SITE_DIR (default: the release build), CONTAINER_CHECK_PORT
# (3950), IMAGE_BUDGET_MB (200).
set -euo pipefail
source "$(dirname "$0")/../scripts/setup.sh"
cd "$VANGUARD_ROOT"

server_bin="${SERVER_BIN:-$(server_binary)}"
site_dir="${SITE_DIR:-$VANGUARD_ROOT/target/site}"
port="${CONTAINER_CHECK_PORT:-3950}"
budget_mb="${IMAGE_BUDGET_MB:-200}"
for need in "$server_bin" "$site_dir/pkg"; do
  if [ ! -e "$need" ]; then
    echo "missing $need: build the release first (scripts/test.sh or cargo leptos build --release)" >&2
    exit 1
  fi
done

# The runtime stage: from its FROM line to the end of the Dockerfile.
runtime_stage="$(awk '/^FROM .* AS runtime$/ {p = 1} p' Dockerfile)"
base="$(printf '%s\n' "$runtime_stage" | sed -n '1s/^FROM \([^ ]*\) AS runtime$/\1/p')"
release="$(printf '%s\n' "$base" | sed -n 's/^debian:\([a-z]*\)-slim$/\1/p')"
if [ -z "$release" ]; then
  echo "the Dockerfile's runtime stage must start FROM debian:<release>-slim AS runtime (found '$base')" >&2
  exit 1
fi

ensure_container_tools() {
  local missing=()
  command -v buildah >/dev/null || missing+=(buildah)
  command -v podman >/dev/null || missing+=(podman)
  # crun refuses hybrid cgroup hierarchies (this machine's); runc runs.
  command -v runc >/dev/null || missing+=(runc)
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_install --no-install-recommends "${missing[@]}"
  fi
}

# debian:<release>-slim's recipe, approximately: minbase, then the slim
# image's dpkg excludes (docs, man pages, locales) and apt settings (no
# package caches kept after apt-get, no translations), no apt lists.
ROOTFS_RECIPE=2
ensure_rootfs() {
  local tarball="$VANGUARD_TOOLS/rootfs/debian-$release-slim-r$ROOTFS_RECIPE.tar.gz"
  if [ ! -s "$tarball" ]; then
    log "debootstrap of Debian $release (minbase, a few minutes, once; cached in $tarball)"
    local dir
    dir="$(mktemp -d)"
    debootstrap --variant=minbase "$release" "$dir/rootfs" http://deb.debian.org/debian >"$dir/debootstrap.log" 2>&1 || {
      tail -n 20 "$dir/debootstrap.log" >&2
      rm -rf "$dir"
      return 1
    }
    cat >"$dir/rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
    cat >"$dir/rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    printf 'Acquire::Languages "none";\n' >"$dir/rootfs/etc/apt/apt.conf.d/docker-no-languages"
    printf 'APT::AutoRemove::SuggestsImportant "false";\n' >"$dir/rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
    find "$dir/rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    find "$dir/rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
    rm -rf "$dir"/rootfs/usr/share/{man,groff,info,lintian,linda,locale}/* \
      "$dir"/rootfs/var/cache/apt/archives/*.deb "$dir"/rootfs/var/cache/apt/*.bin \
      "$dir"/rootfs/var/lib/apt/lists/* "$dir"/rootfs/var/log/*.log
    mkdir -p "$(dirname "$tarball")"
    tar -C "$dir/rootfs" -czf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$dir"
  fi
  ROOTFS_TARBALL="$tarball"
}

ensure_container_tools
ensure_rootfs

work="$(mktemp -d)"
store="$work/storage"
container=vanguard-container-check
# A scratch image store: nothing is left behind, nothing is shared.
bh() { buildah --root "$store" --runroot "$work/run" --storage-driver vfs "$@"; }
pm() {
  podman --root "$store" --runroot "$work/run" --storage-driver vfs --runtime runc \
    --cgroup-manager cgroupfs --events-backend file "$@" 2> >(grep -v 'systemd' >&2)
}
cleanup() {
  pm rm -f "$container" "$container-preview" >/dev/null 2>&1 || true
  pm rmi -af >/dev/null 2>&1 || true
  bh rm --all >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

log "importing the $base root filesystem"
ctr="$(bh from scratch)"
bh add "$ctr" "$ROOTFS_TARBALL" / >/dev/null
bh config --cmd /bin/bash "$ctr"
bh commit -q "$ctr" "docker.io/library/$base" >/dev/null
bh rm "$ctr" >/dev/null

log "building the Dockerfile's runtime stage (buildah, chroot isolation)"
mkdir -p "$work/context"
cp "$server_bin" "$work/context/server"
cp -r "$site_dir" "$work/context/site"
printf '%s\n' "$runtime_stage" | sed \
  -e 's#^COPY --from=build /src/target/release/server /app/server$#COPY server /app/server#' \
  -e 's#^COPY --from=build /src/target/site /app/site$#COPY site /app/site#' >"$work/context/Containerfile"
if grep -q -- '--from=' "$work/context/Containerfile"; then
  echo "the runtime stage copies from the build stage in a way this script does not know:" >&2
  grep -- '--from=' "$work/context/Containerfile" >&2
  exit 1
fi
bh build --isolation chroot --pull-never --format docker --quiet \
  -t localhost/vanguard:check -f "$work/context/Containerfile" "$work/context" >"$work/build.log" 2>&1 || {
  tail -n 30 "$work/build.log" >&2
  exit 1
}

failures=0
check() {
  local name="$1"; shift
  if "$@"; then printf 'PASS  %s\n' "$name"; else printf 'FAIL  %s\n' "$name"; failures=$((failures + 1)); fi
}
inspect() { pm image inspect --format "$1" localhost/vanguard:check; }

# The image's configuration is what ECS and Railway rely on.
check "image runs as 10001:10001" [ "$(inspect '{{.Config.User}}')" = "10001:10001" ]
check "image CMD is /app/server serve" [ "$(inspect '{{json .Config.Cmd}}')" = '["/app/server","serve"]' ]
check "image HEALTHCHECK is /app/server healthcheck" \
  [ "$(inspect '{{json .Config.Healthcheck.Test}}')" = '["CMD","/app/server","healthcheck"]' ]
check "image stops with SIGTERM" [ "$(inspect '{{.Config.StopSignal}}')" = "SIGTERM" ]
size_mb=$(( $(inspect '{{.Size}}') / 1000000 ))
check "image size ${size_mb} MB <= ${budget_mb} MB" [ "$size_mb" -le "$budget_mb" ]

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is in use; set CONTAINER_CHECK_PORT to a free port" >&2
  exit 1
fi
mkdir -p "$work/data"
chown 10001:10001 "$work/data"
log "running the image: read-only root, data volume, production defaults, port $port"
# Host network (no CNI here); the limits are lowered explicitly because this
# sandbox cannot raise them (no CAP_SYS_RESOURCE), which runc would try.
# --read-only-tmpfs=false: ECS's readonlyRootFilesystem mounts no tmpfs either.
pm run -d --name "$container" --network host --read-only --read-only-tmpfs=false \
  --ulimit nofile=8192:8192 --ulimit nproc=4096:4096 \
  -v "$work/data:/app/data" -e PORT="$port" \
  -e VANGUARD_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" \
  -e VANGUARD_JWT_SECRET="$(head -c 32 /dev/urandom | base64)" \
  localhost/vanguard:check >/dev/null

ready=""
for _ in $(seq 1 120); do
  if [ "$(pm inspect --format '{{.State.Running}}' "$container")" != true ]; then break; fi
  if curl -fsS --max-time 2 "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  pm logs "$container" 2>&1 | tail -n 30 >&2
  echo "the container never answered /health/ready" >&2
  exit 1
fi
printf 'PASS  /health/ready answers 200 from the container\n'
check "the HEALTHCHECK command passes (podman healthcheck run)" pm healthcheck run "$container"
pid="$(pm inspect --format '{{.State.Pid}}' "$container")"
check "the server process runs as uid 10001" \
  [ "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" = 10001 ]
check "the server process has no effective capabilities" \
  [ "$(awk '/^CapEff:/ {print $2}' "/proc/$pid/status")" = 0000000000000000 ]
check "the root filesystem refuses writes" \
  pm exec "$container" /bin/sh -c '! touch /app/probe 2>/dev/null && ! touch /tmp/probe 2>/dev/null'
check "the data volume takes writes (the SQLite database is there)" \
  pm exec "$container" /bin/sh -c 'touch /app/data/probe && ls /app/data | grep -q "\.db"'
check "/metrics answers from the container" \
  bash -c "curl -fsS --max-time 5 http://127.0.0.1:$port/metrics | grep -q '^vanguard_ready 1'"

log "SIGTERM"
pm kill --signal TERM "$container" >/dev/null
code="$(timeout 60 podman --root "$store" --runroot "$work/run" --storage-driver vfs --runtime runc \
  --cgroup-manager cgroupfs --events-backend file wait "$container" 2>/dev/null || echo timeout)"
check "SIGTERM -> exit 0 (got $code)" [ "$code" = 0 ]
if [ "$code" != 0 ]; then pm logs "$container" 2>&1 | tail -n 20 >&2; fi

# Railway's PR environments start the image with railway.json's
# environments.pr start command: demo data, then the server, which must
# still get the SIGTERM itself (exec) and exit 0.
mapfile -t preview_cmd < <(python3 -c '
import json, shlex
for arg in shlex.split(json.load(open("railway.json"))["environments"]["pr"]["deploy"]["startCommand"]):
    print(arg)')
mkdir -p "$work/preview-data"
chown 10001:10001 "$work/preview-data"
log "running the preview start command: ${preview_cmd[*]}"
pm run -d --name "$container-preview" --network host --read-only --read-only-tmpfs=false \
  --ulimit nofile=8192:8192 --ulimit nproc=4096:4096 \
  -v "$work/preview-data:/app/data" -e PORT="$port" -e VANGUARD_ENV=development \
  -e RAILWAY_ENVIRONMENT_NAME=pr-7 \
  -e VANGUARD_MASTER_KEY="$(head -c 32 /dev/urandom | base64)" \
  -e VANGUARD_JWT_SECRET="$(head -c 32 /dev/urandom | base64)" \
  localhost/vanguard:check "${preview_cmd[@]}" >/dev/null
ready=""
for _ in $(seq 1 120); do
  if [ "$(pm inspect --format '{{.State.Running}}' "$container-preview")" != true ]; then break; fi
  if curl -fsS --max-time 2 "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.5
done
check "the preview start command serves /health/ready" [ -n "$ready" ]
check "the preview's pages carry the preview banner" bash -c \
  "curl -fsS --max-time 5 http://127.0.0.1:$port/login | grep -q 'class=\"environment-banner\"[^>]*>Preview pr-7: demo data'"
check "the preview seeded the demo book (5 customers)" [ "$(python3 -c '
import glob, sqlite3, sys
db = glob.glob(sys.argv[1] + "/*.db")[0]
print(sqlite3.connect(db).execute("SELECT count(*) FROM customers").fetchone()[0])' "$work/preview-data")" = 5 ]
pm kill --signal TERM "$container-preview" >/dev/null
code="$(timeout 60 podman --root "$store" --runroot "$work/run" --storage-driver vfs --runtime runc \
  --cgroup-manager cgroupfs --events-backend file wait "$container-preview" 2>/dev/null || echo timeout)"
check "preview: SIGTERM reaches the server through sh (exec) -> exit 0 (got $code)" [ "$code" = 0 ]
if [ -z "$ready" ] || [ "$code" != 0 ]; then pm logs "$container-preview" 2>&1 | tail -n 20 >&2; fi

# SBOM: what the image holds. Debian packages from the image's dpkg database,
# Rust crates from the server's dependency graph (cargo tree: no build).
sbom="$CARGO_TARGET_DIR/vanguard-image.spdx.json"
mnt_ctr="$(bh from --pull-never localhost/vanguard:check)"
mnt="$(bh mount "$mnt_ctr")"
python3 - "$mnt/var/lib/dpkg/status" "$sbom" "$base" <(cargo tree --locked -p server -e normal \
  --target x86_64-unknown-linux-gnu --prefix none --format '{p}|{l}' | sort -u) <<'PY'
import json, sys, datetime, uuid
status, out, base, crates = sys.argv[1:5]
packages = []
for block in open(status).read().split("\n\n"):
    fields = dict(l.split(": ", 1) for l in block.splitlines() if ": " in l and not l.startswith(" "))
    if "Package" in fields and "installed" in fields.get("Status", ""):
        packages.append(("deb", fields["Package"], fields["Version"], "NOASSERTION"))
for line in open(crates):
    spec, _, lic = line.strip().partition("|")
    parts = spec.split()
    if len(parts) >= 2 and not (len(parts) > 2 and parts[2].startswith("(/")):
        packages.append(("cargo", parts[0], parts[1].lstrip("v"), lic or "NOASSERTION"))
doc = {
    "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
    "name": "vanguard-image", "documentNamespace": f"urn:uuid:{uuid.uuid4()}",
    "creationInfo": {"created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "creators": ["Tool: deploy/container-check.sh"]},
    "packages": [{
        "name": name, "SPDXID": f"SPDXRef-{kind}-{i}", "versionInfo": version,
        "downloadLocation": "NOASSERTION", "licenseConcluded": "NOASSERTION", "licenseDeclared": lic,
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": f"pkg:{kind}/{'debian/' if kind == 'deb' else ''}{name}@{version}"}],
    } for i, (kind, name, version, lic) in enumerate(packages)],
}
json.dump(doc, open(out, "w"), indent=1)
debs = sum(1 for p in packages if p[0] == "deb")
print(f"SBOM: {debs} Debian packages ({base}) and {len(packages) - debs} crates -> {out}")
PY
bh umount "$mnt_ctr" >/dev/null
bh rm "$mnt_ctr" >/dev/null

echo
if [ "$failures" -gt 0 ]; then
  echo "container check: $failures failed" >&2
  exit 1
fi
log "container check passed (image $size_mb MB)"

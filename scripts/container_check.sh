#!/usr/bin/env bash
# Build the container image with podman and check that it serves: /readyz and one query.
#
#   scripts/container_check.sh            (as root, with podman installed: apt-get install podman)
#
# Where `podman run` works this is all one would need: `podman run -p 8000:8000 -e CONCORD_API_KEYS=...`.
# Here the sandbox refuses a container's setrlimit, so the check builds the image, creates a container
# (nothing runs), mounts its filesystem and starts the image's own command in a chroot of it, with the
# image's environment and user. Everything the image would do on `run` is exercised, except isolation.
#
# No registry is reachable from this machine, so unless BASE_IMAGE is set, a local Debian base with
# Python is made by mmdebstrap (apt-get install mmdebstrap) and imported. Pip inside the build uses
# this machine's own pip configuration, CA bundle and local wheel folders, mounted read-only; the
# Dockerfile itself names no registry but PyTorch's public CPU index (TORCH_INDEX_URL, emptied here).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE="${IMAGE:-localhost/concord:check}"
PORT="${PORT:-18080}"
KEY="check-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ADMIN_KEY="admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
WORK="$(mktemp -d /tmp/concord-container.XXXXXX)"
CONTAINER=""
ROOTFS=""
SERVER=""

say() { printf '== %s\n' "$*" >&2; }

cleanup() {
    if [[ -n "$SERVER" ]]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
    if [[ -n "$ROOTFS" ]]; then
        for sub in dev/pts dev proc sys; do umount "$ROOTFS/$sub" 2>/dev/null || true; done
    fi
    if [[ -n "$CONTAINER" ]]; then
        podman unmount "$CONTAINER" >/dev/null 2>&1 || true
        podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

command -v podman >/dev/null || { echo "podman is not installed: apt-get install podman" >&2; exit 2; }
[[ "$(id -u)" == 0 ]] || { echo "run as root: the smoke test mounts the image and chroots into it" >&2; exit 2; }

if [[ -z "${BASE_IMAGE:-}" ]]; then
    BASE_IMAGE="localhost/concord-base:bookworm"
    if ! podman image exists "$BASE_IMAGE"; then
        command -v mmdebstrap >/dev/null || { echo "set BASE_IMAGE or apt-get install mmdebstrap" >&2; exit 2; }
        say "making a local base image ($BASE_IMAGE) with mmdebstrap"
        mmdebstrap --quiet --variant=minbase --include=python3,python3-venv,ca-certificates,passwd \
            bookworm "$WORK/base.tar"
        podman import --quiet "$WORK/base.tar" "$BASE_IMAGE" >/dev/null
        rm -f "$WORK/base.tar"
    fi
fi

# This machine's pip settings as one file, and the local folders they name, mounted into the build.
python3 -m pip config list 2>/dev/null | sed -n 's/^global\.\([a-z-]*\)=\(.*\)$/\1 = \2/p' | tr -d "'" \
    | { echo "[global]"; cat; } > "$WORK/pip.conf"
mounts=(-v "$WORK/pip.conf:/etc/pip.conf:ro")
# A local index's pages link to files beside its `simple/` folder: mount the folder above it.
for path in $(grep -o '/[^ ]*' "$WORK/pip.conf" | sed 's#^//##; s#/simple/*$##' | sort -u); do
    [[ -e "$path" && "$path" != /etc/ssl/certs/ca-certificates.crt ]] && mounts+=(-v "$path:$path:ro")
done
[[ -e /etc/ssl/certs/ca-certificates.crt ]] && mounts+=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)

say "building $IMAGE from $BASE_IMAGE"
started=$(date +%s)
podman build --isolation chroot --format docker --network host "${mounts[@]}" \
    --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg TORCH_INDEX_URL= \
    -t "$IMAGE" "$ROOT"
say "built in $(( $(date +%s) - started )) s; $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
podman image inspect --format 'user={{.Config.User}} healthcheck={{.Config.Healthcheck.Test}} volumes={{.Config.Volumes}}' "$IMAGE" >&2

CONTAINER="$(podman create "$IMAGE")"
ROOTFS="$(podman mount "$CONTAINER")"
for sub in proc sys dev dev/pts; do mount --bind "/$sub" "$ROOTFS/$sub"; done
user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
uid="$(chroot "$ROOTFS" id -u "$user")"
gid="$(chroot "$ROOTFS" id -g "$user")"
mapfile -t image_env < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')
read -r -a command_line < <(podman image inspect --format '{{range .Config.Cmd}}{{.}} {{end}}' "$IMAGE")

say "starting '${command_line[*]}' as $user in a chroot of the image, port $PORT"
chroot --userspec="$uid:$gid" "$ROOTFS" /usr/bin/env -i "${image_env[@]}" HOME=/data \
    CONCORD_PORT="$PORT" CONCORD_API_KEYS="$KEY" CONCORD_ADMIN_API_KEYS="$ADMIN_KEY" CONCORD_LOG_FORMAT=text \
    "${command_line[@]}" > "$WORK/server.log" 2>&1 &
SERVER=$!

ready=""
for _ in $(seq 1 120); do
    if curl -sf "http://127.0.0.1:$PORT/readyz" > "$WORK/readyz.json" 2>/dev/null; then ready=1; break; fi
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 1
done
if [[ -z "$ready" ]]; then
    echo "the server in the image did not become ready; its log:" >&2
    tail -40 "$WORK/server.log" >&2
    exit 1
fi
echo "GET /readyz → $(cat "$WORK/readyz.json")"

# The image's own HEALTHCHECK command, run inside the image.
mapfile -d '' -t health_command < <(podman image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE" \
    | python3 -c 'import json, sys; test = json.load(sys.stdin); sys.stdout.write("\0".join(test[1:]) + "\0")')
if chroot --userspec="$uid:$gid" "$ROOTFS" /usr/bin/env -i "${image_env[@]}" CONCORD_PORT="$PORT" "${health_command[@]}"; then
    echo "HEALTHCHECK → healthy"
else
    echo "HEALTHCHECK → unhealthy" >&2
    exit 1
fi

answer="$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"question": "How many 楚怡 technical schools will be built?", "top_k": 3}' \
    "http://127.0.0.1:$PORT/v1/query")"
python3 - "$answer" <<'EOF'
import json, sys
reply = json.loads(sys.argv[1])
top = reply["results"][0]
print("POST /v1/query → answer:", (reply.get("answer") or {}).get("text"),
      "| top passage:", top["text"][:60], "| support:", f"{top['support']['count']}/{top['support']['total']}",
      "| model:", reply["index"]["model"])
assert top["readings"], "the top passage has no readings"
EOF
unauthorised="$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"question": "x"}' "http://127.0.0.1:$PORT/v1/query")"
echo "POST /v1/query without a key → $unauthorised"
[[ "$unauthorised" == 401 ]]

# A scan read by OCR inside the image (rapidocr's models from its wheel, no network): seed 003 printed
# and scanned as an image-only PDF, built here with the tests' fixture builder and the project's venv.
say "uploading a scanned seed transcription, read by OCR in the image"
(cd "$ROOT" && "$ROOT/.venv/bin/python" -c '
import sys
from tests.files.paged import scanned_text
sys.stdout.buffer.write(scanned_text(open("seeds/003_2898a6ebbb562591.txt", encoding="utf-8").read()))
') > "$WORK/003-scan.pdf"
job="$(curl -sf -H "Authorization: Bearer $ADMIN_KEY" -F "files=@$WORK/003-scan.pdf;type=application/pdf" \
    "http://127.0.0.1:$PORT/v1/documents")"
job_id="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$job")"
for _ in $(seq 1 600); do
    state="$(curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/jobs/$job_id")"
    status="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["status"])' "$state")"
    [[ "$status" == succeeded || "$status" == failed ]] && break
    sleep 1
done
python3 - "$state" <<'EOF'
import json, sys
job = json.loads(sys.argv[1])
assert job["status"] == "succeeded", job
stored = job["result"]["files"][0]
print("POST /v1/documents (scan) →", stored["document"], stored["variant"], stored["assignment"]["decision"],
      "| read by", stored["extraction"]["method"], "over", stored["extraction"]["pages"], "pages,",
      "confidence", stored["extraction"]["confidence"])
assert stored["document"] == "seeds" and stored["extraction"]["method"] == "ocr", stored
EOF
sleep 5  # the server loads the new index within its reload interval
answer="$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"question": "楚怡优秀技工院校要遴选建设多少所？", "top_k": 3}' "http://127.0.0.1:$PORT/v1/query")"
python3 - "$answer" <<'EOF'
import json, sys
top = json.loads(sys.argv[1])["results"][0]
print("POST /v1/query → top passage:", top["text"][:40], "| support:",
      f"{top['support']['count']}/{top['support']['total']}", "| OCR witnesses:", top["support"]["ocr"])
assert top["support"]["count"] == top["support"]["total"] == 6 and len(top["support"]["ocr"]) == 1, top["support"]
EOF
echo "container check passed"

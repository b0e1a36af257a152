#!/usr/bin/env bash
# Provision a Docker-API engine and the test image; print "DOCKER_HOST=..." on stdout.
#
#   export $(tools/engine-up.sh)      # or, in a Makefile:  export DOCKER_HOST=...
#
# - A Docker API that already answers (DOCKER_HOST, else /var/run/docker.sock) is used
#   as is; nothing is installed.
# - Otherwise (Debian, root): podman + runc from apt, /etc/containers/containers.conf,
#   and `podman system service` on unix:///run/psa-podman/podman.sock (restarted if dead).
# - The test image psa-test/busybox-httpd:latest is built locally if missing (no registry
#   needed): Debian's busybox-static in a scratch rootfs, default command
#   `httpd -f -p 80 -h /www`, /www/index.html contains "psa-test-page".
# Idempotent; all progress goes to stderr. See tools/README.md.
set -euo pipefail

SOCK_DIR=/run/psa-podman
SOCK=$SOCK_DIR/podman.sock
OUR_HOST=unix://$SOCK
SERVICE_LOG=$SOCK_DIR/service.log
SERVICE_PID=$SOCK_DIR/service.pid
LOCK=${TMPDIR:-/tmp}/psa-engine-up.lock
CONF=/etc/containers/containers.conf
CONF_DROPIN=/etc/containers/containers.conf.d/50-psa-engine.conf
START_TIMEOUT=${PSA_ENGINE_START_TIMEOUT:-60}

IMAGE_REPO=psa-test/busybox-httpd
IMAGE_TAG=latest                 # podman's compat import ignores the tag anyway
IMAGE=$IMAGE_REPO:$IMAGE_TAG
IMAGE_MARKER=psa-test-page
IMAGE_VERSION=1                  # bump when the recipe below changes -> rebuild

TMP=''
cleanup() { if [[ -n $TMP ]]; then rm -rf "$TMP"; fi; }
trap cleanup EXIT
mktmp() { [[ -n $TMP ]] || { TMP=$(mktemp -d); chmod 755 "$TMP"; }; }

log() { printf 'engine-up: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

quietly() {  # quietly MESSAGE CMD... : run CMD with its output kept aside, shown if it fails
    local msg=$1 out; shift
    log "$msg"
    if ! out=$("$@" 2>&1); then
        printf '%s\n' "$out" | tail -n 20 >&2
        die "$msg failed"
    fi
}

# --- talking to a Docker API with curl -------------------------------------------
# api HOST METHOD PATH [curl args...]   -> response body on stdout; fails on HTTP >= 400
# Every call is bounded (a hung engine must not hang make test); a later --max-time wins.
api() {
    local host=$1 method=$2 path=$3; shift 3
    case $host in
        unix://*) curl -sSf --max-time 300 --unix-socket "${host#unix://}" -X "$method" "$@" "http://d$path" ;;
        tcp://*)  curl -sSf --max-time 300 -X "$method" "$@" "http://${host#tcp://}$path" ;;
        http://*) curl -sSf --max-time 300 -X "$method" "$@" "${host%/}$path" ;;
        *) return 2 ;;
    esac
}

answers() {  # answers HOST : GET /_ping is OK
    local out
    out=$(api "$1" GET /_ping --max-time 2 2>/dev/null) && [[ $out == OK* ]]
}

urlenc() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
            [a-zA-Z0-9._~-]) out+=$c ;;
            *) printf -v c '%%%02X' "'$c"; out+=$c ;;
        esac
    done
    printf '%s' "$out"
}

# --- podman ------------------------------------------------------------------------
ensure_podman_installed() {
    if command -v podman >/dev/null && command -v runc >/dev/null; then return; fi
    command -v apt-get >/dev/null || die "no Docker API reachable and no apt-get to install podman"
    [[ $(id -u) == 0 ]] || die "installing podman needs root"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-cache show podman >/dev/null 2>&1 || ! apt-cache show runc >/dev/null 2>&1; then
        quietly "apt-get update" apt-get update
    fi
    quietly "installing podman + runc (apt)" \
        apt-get install -y --no-install-recommends podman runc
}

ensure_containers_conf() {
    local current target=$CONF
    current=$(cat "$CONF" "$CONF_DROPIN" 2>/dev/null || true)
    if grep -Eq '^[[:space:]]*runtime[[:space:]]*=[[:space:]]*"runc"' <<<"$current" \
        && grep -q 'nofile=1024:1024' <<<"$current" && grep -q 'nproc=1000:1000' <<<"$current"; then
        return
    fi
    if [[ -f $CONF ]] && grep -Eq '^[[:space:]]*[^#[:space:]]' "$CONF"; then
        # Someone else's settings: do not rewrite them, add a drop-in that overrides.
        target=$CONF_DROPIN
        log "$CONF has other settings; writing $target"
    else
        log "writing $CONF"
    fi
    mkdir -p "$(dirname "$target")"
    cat >"$target" <<'EOF'
# Written by psa-scripts tools/engine-up.sh.
# The sandbox cannot raise rlimits (no CAP_SYS_RESOURCE) and crun fails on hybrid cgroups.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1000:1000"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

service_alive() {  # service_alive PID : a live (not zombie) podman service process
    local stat cmd
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]] || return 1
    cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *"system service"* ]]
}

start_service() {
    local pid
    if [[ -f $SERVICE_PID ]] && pid=$(<"$SERVICE_PID") && service_alive "$pid"; then
        # A service we started is alive but does not answer (yet): give it a few seconds,
        # then replace it.
        wait_for_ping 5 && return 0
        log "podman service (pid $pid) does not answer; restarting it"
        kill -TERM "$pid" 2>/dev/null || true
        kill -CONT "$pid" 2>/dev/null || true
        for _ in $(seq 30); do service_alive "$pid" || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    if [[ -e $SOCK ]]; then
        log "removing stale socket $SOCK"
        rm -f "$SOCK"
    fi
    log "starting podman system service on $SOCK"
    # stdin/stdout/stderr detached (else `$(engine-up.sh)` waits for it) and the lock fd closed.
    nohup setsid podman system service --time=0 "$OUR_HOST" \
        </dev/null >>"$SERVICE_LOG" 2>&1 9>&- &
    echo $! >"$SERVICE_PID"
    wait_for_ping "$START_TIMEOUT" \
        || die "podman service did not answer within ${START_TIMEOUT}s; see $SERVICE_LOG"
}

wait_for_ping() {  # wait_for_ping SECONDS
    local deadline=$((SECONDS + $1))
    until answers "$OUR_HOST"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

LOCKED=''
take_lock() {  # serialise concurrent runs (the slow paths only); held until exit
    [[ -z $LOCKED ]] || return 0
    LOCKED=1
    command -v flock >/dev/null || return 0
    exec 9>>"$LOCK"
    flock 9
}

ensure_podman_engine() {
    mkdir -p "$SOCK_DIR"
    answers "$OUR_HOST" && return
    take_lock
    answers "$OUR_HOST" && return      # someone else did it while we waited
    ensure_podman_installed
    ensure_containers_conf
    start_service
}

# --- the test image ----------------------------------------------------------------
image_ok() {  # image present and built by this recipe version
    local inspect
    inspect=$(api "$1" GET "/images/$IMAGE/json" --max-time 10 2>/dev/null) || return 1
    [[ $inspect == *'"psa-test.version":"'$IMAGE_VERSION'"'* ]]
}

build_image_from_busybox_static() {  # build_image_from_busybox_static HOST
    local host=$1 tmp
    mktmp; tmp=$TMP
    export DEBIAN_FRONTEND=noninteractive
    if ! (cd "$tmp" && apt-get download busybox-static >"$tmp/apt.log" 2>&1); then
        quietly "apt-get update" apt-get update
        (cd "$tmp" && quietly "apt-get download busybox-static" apt-get download busybox-static)
    fi
    dpkg -x "$tmp"/busybox-static_*.deb "$tmp/pkg"
    local r=$tmp/rootfs
    mkdir -p "$r"/{bin,etc,www,tmp,proc,sys,dev,root}
    chmod 1777 "$r/tmp"
    install -m 0755 "$tmp/pkg/bin/busybox" "$r/bin/busybox"
    local a
    for a in $("$r/bin/busybox" --list); do
        [[ $a == busybox ]] || ln -s busybox "$r/bin/$a"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$r/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$r/etc/group"
    printf '<html><body><h1>%s</h1></body></html>\n' "$IMAGE_MARKER" >"$r/www/index.html"
    tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$tmp/rootfs.tar" .

    local q="fromSrc=-&repo=$(urlenc "$IMAGE_REPO")&tag=$IMAGE_TAG" c
    for c in 'ENV PATH=/bin' 'WORKDIR /' 'EXPOSE 80/tcp' \
        "LABEL psa-test.version=$IMAGE_VERSION" \
        'CMD ["httpd", "-f", "-p", "80", "-h", "/www"]'; do
        q+="&changes=$(urlenc "$c")"
    done
    api "$host" POST "/images/create?$q" -H 'Content-Type: application/x-tar' \
        --data-binary @"$tmp/rootfs.tar" --max-time 300 >/dev/null
}

build_image_from_registry() {  # fallback where apt-get is missing (a Docker Desktop laptop)
    local host=$1 tmp
    mktmp; tmp=$TMP
    printf '<html><body><h1>%s</h1></body></html>\n' "$IMAGE_MARKER" >"$tmp/index.html"
    cat >"$tmp/Dockerfile" <<EOF
FROM busybox:stable
COPY index.html /www/index.html
LABEL psa-test.version=$IMAGE_VERSION
EXPOSE 80/tcp
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
EOF
    tar -C "$tmp" -cf "$tmp/ctx.tar" Dockerfile index.html
    api "$host" POST "/build?t=$(urlenc "$IMAGE")&rm=1&forcerm=1" \
        -H 'Content-Type: application/x-tar' --data-binary @"$tmp/ctx.tar" --max-time 600 >/dev/null
}

ensure_image() {  # ensure_image HOST
    local host=$1
    image_ok "$host" && return
    take_lock
    image_ok "$host" && return
    log "building test image $IMAGE"
    if command -v apt-get >/dev/null && command -v dpkg >/dev/null; then
        build_image_from_busybox_static "$host"
    else
        build_image_from_registry "$host"
    fi
    image_ok "$host" || die "image $IMAGE not found via the Docker API after the build"
}

# --- main --------------------------------------------------------------------------
main() {
    local host=''
    if [[ -n ${DOCKER_HOST:-} && $DOCKER_HOST != "$OUR_HOST" ]]; then
        if answers "$DOCKER_HOST"; then
            host=$DOCKER_HOST
        else
            log "DOCKER_HOST=$DOCKER_HOST does not answer; using podman instead"
        fi
    fi
    if [[ -z $host && -z ${DOCKER_HOST:-} ]] && answers unix:///var/run/docker.sock; then
        host=unix:///var/run/docker.sock
    fi
    if [[ -z $host ]]; then
        ensure_podman_engine
        host=$OUR_HOST
    fi
    ensure_image "$host"
    printf 'DOCKER_HOST=%s\n' "$host"
}

main "$@"

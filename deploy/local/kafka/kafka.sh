#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, combined broker+controller)
# straight from Maven Central jars, without Docker.
#
#   deploy/local/kafka/kafka.sh fetch            # download jars once (then offline)
#   eval "export $(deploy/local/kafka/kafka.sh start)"  # KAFKA_BOOTSTRAP=127.0.0.1:<port>
#   deploy/local/kafka/kafka.sh status           # exit 0 + bootstrap line if running
#   deploy/local/kafka/kafka.sh stop             # SIGTERM, SIGKILL after 30 s
#
# stdout carries exactly one line (KAFKA_BOOTSTRAP=...) for start/status;
# everything else goes to stderr.
#
# Environment (start also accepts --port/--data-dir/--partitions; stop and
# status accept --data-dir):
#   KAFKA_HOME_DIR       jar cache               (default $REPO/.cache/kafka)
#   KAFKA_DATA_DIR       data/log/pid dir        (default $REPO/.run/kafka)
#   KAFKA_PORT           client port; 0|auto = free port (default 9092)
#   KAFKA_PARTITIONS     num.partitions          (default 6)
#   KAFKA_START_TIMEOUT  seconds to wait for readiness (default 60)
#   KAFKA_HEAP_OPTS      JVM heap                (default -Xmx512m -Xms256m)
#   KAFKA_JVM_OPTS       JVM flags, replace JVM_DEFAULT_OPTS below
#   KAFKA_TOPICS_CMD     shell command run (bash -c) after a successful start
#                        (default: the workspace's `python -m
#                        customs_shared.messaging.topics`; set it empty to skip),
#                        also when the broker was already running, with
#                        KAFKA_BOOTSTRAP exported (topic creation lives there;
#                        its stdout goes to stderr). Failure -> exit 1, broker
#                        left running.
#
# With KAFKA_PORT=auto a restart on the same data dir reuses the previous
# port when it is still free. Storage is formatted once (static quorum).
#   JAVA_HOME / JAVA, MVN
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SCRIPT_DIR/../../.." && pwd)"
POM="$SCRIPT_DIR/pom.xml"

CACHE_DIR="${KAFKA_HOME_DIR:-$REPO/.cache/kafka}"
LIBS_DIR="$CACHE_DIR/libs"
STAMP_FILE="$CACHE_DIR/libs.stamp"

MVN="${MVN:-mvn}"
if [[ -n "${JAVA:-}" ]]; then
    :
elif [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then
    JAVA="$JAVA_HOME/bin/java"
else
    JAVA=java
fi

# Serial GC + C1-only JIT: measurably faster JVM start and lower CPU on a
# 2-core box; throughput is irrelevant for a test broker.
JVM_DEFAULT_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
}

# ---------------------------------------------------------------- fetch ----

# The pinned versions from pom.xml, e.g. "kafka.version=4.4.0 log4j2.version=2.25.3".
# A bump of either changes the stamp and triggers a refetch.
pinned_versions() {
    local out="" name value
    for name in kafka.version log4j2.version; do
        value="$(sed -n "s:.*<${name}>\([^<]*\)</${name}>.*:\1:p" "$POM" | head -n 1)"
        [[ -n "$value" ]] || die "cannot read <$name> from $POM"
        out+="${out:+ }$name=$value"
    done
    printf '%s\n' "$out"
}

kafka_version() {
    sed -n 's:.*<kafka.version>\([^<]*\)</kafka.version>.*:\1:p' "$POM" | head -n 1
}

is_fetched() {
    [[ -f "$STAMP_FILE" && -d "$LIBS_DIR" ]] || return 1
    [[ "$(cat "$STAMP_FILE")" == "$(pinned_versions)" ]] || return 1
    compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null
}

cmd_fetch() {
    local want tmp
    want="$(pinned_versions)"
    if is_fetched; then
        log "jars up to date in $LIBS_DIR ($want)"
        return 0
    fi
    command -v "$MVN" >/dev/null 2>&1 || die "'$MVN' not found; install Maven (needed once to fetch Kafka)"
    mkdir -p "$CACHE_DIR"
    tmp="$CACHE_DIR/libs.tmp.$$"
    rm -rf "$tmp"
    log "fetching Kafka jars ($want) into $LIBS_DIR ..."
    # mvn -q still emits stray ANSI resets; strip them. Output goes to stderr.
    if ! "$MVN" -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
        -DoutputDirectory="$tmp" -DincludeScope=runtime 2>&1 |
        sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2; then
        rm -rf "$tmp"
        die "maven fetch failed (is Maven Central reachable?)"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || { rm -rf "$tmp"; die "fetch produced no kafka_2.13 jar"; }
    rm -rf "$LIBS_DIR"
    mv "$tmp" "$LIBS_DIR"
    printf '%s\n' "$want" >"$STAMP_FILE"
    log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1))"
}

# ---------------------------------------------------------------- helpers --

# Resolved by parse_start_args/init_data_paths.
DATA_DIR=""
PID_FILE=""
PORT_FILE=""
CPORT_FILE=""
LOG_FILE=""
PROPS_FILE=""
LOG4J_FILE=""

init_data_paths() {
    local dir="${1:-${KAFKA_DATA_DIR:-$REPO/.run/kafka}}"
    mkdir -p "$dir"
    DATA_DIR="$(cd "$dir" && pwd)"
    PID_FILE="$DATA_DIR/kafka.pid"
    PORT_FILE="$DATA_DIR/kafka.port"
    CPORT_FILE="$DATA_DIR/kafka.controller.port"
    LOG_FILE="$DATA_DIR/kafka.log"
    PROPS_FILE="$DATA_DIR/server.properties"
    LOG4J_FILE="$DATA_DIR/log4j2.properties"
}

# Prints the pid of our running broker, or fails.
running_pid() {
    local pid
    [[ -f "$PID_FILE" ]] || return 1
    pid="$(tr -dc '0-9' <"$PID_FILE")"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against pid reuse: it must be a JVM running kafka.Kafka.
    if [[ -r "/proc/$pid/cmdline" ]]; then
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
    fi
    printf '%s\n' "$pid"
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints N (1 or 2) distinct free TCP ports on 127.0.0.1, one per line.
free_ports() {
    local n="$1"
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$n" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
for s in socks:
    print(s.getsockname()[1])
PY
        return
    fi
    local found=0 p tries=0 last=0
    while ((found < n && tries < 500)); do
        tries=$((tries + 1))
        p=$((20000 + RANDOM % 40000))
        if ((p != last)) && ! port_open "$p"; then
            printf '%s\n' "$p"
            last=$p
            found=$((found + 1))
        fi
    done
    ((found == n)) || die "could not find a free port"
}

# A port remembered from a previous run, if it is still free.
reuse_port() {
    local f="$1" p
    [[ -f "$f" ]] || return 1
    p="$(tr -dc '0-9' <"$f")"
    if [[ -z "$p" ]] || port_open "$p"; then
        return 1
    fi
    printf '%s\n' "$p"
}

# KRaft cluster id: 16 random bytes, base64url without padding (22 chars);
# like Uuid.randomUuid(), avoid a leading '-' (would look like a CLI flag).
random_cluster_id() {
    local id
    while :; do
        id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
        [[ "$id" != -* && ${#id} -eq 22 ]] && break
    done
    printf '%s\n' "$id"
}

print_bootstrap() {
    printf 'KAFKA_BOOTSTRAP=127.0.0.1:%s\n' "$(tr -dc '0-9' <"$PORT_FILE")"
}

# By default the cluster's own catalog creates every topic and its DLQ twin
# (customs_shared.messaging.topics), once the workspace is installed.
default_topics_cmd() {
    local python="$REPO/.venv/bin/python"
    [[ -x "$python" ]] || return 0
    printf '%q -m customs_shared.messaging.topics' "$python"
}

run_topics_cmd() {
    local port="$1" partitions="$2"
    local cmd="${KAFKA_TOPICS_CMD-$(default_topics_cmd)}"
    [[ -n "$cmd" ]] || return 0
    log "creating topics: $cmd"
    if ! KAFKA_BOOTSTRAP="127.0.0.1:$port" KAFKA_PARTITIONS="$partitions" bash -c "$cmd" >&2; then
        die "KAFKA_TOPICS_CMD failed; the broker is still running (stop it with: $0 stop)"
    fi
}

write_configs() {
    local port="$1" cport="$2" partitions="$3"
    cat >"$PROPS_FILE" <<EOF
# Generated by deploy/local/kafka/kafka.sh -- rewritten on every start.
# Single-node KRaft, combined broker + controller, loopback only, test-sized.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${cport}
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${cport}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=${DATA_DIR}/data

num.partitions=${partitions}
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
delete.topic.enable=true

# Internal topics: one replica, few partitions (fast first group join).
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0

# Small retention and segments: tests only.
log.retention.ms=3600000
log.retention.bytes=104857600
log.retention.check.interval.ms=30000
log.segment.bytes=1048576
log.index.size.max.bytes=1048576
log.cleaner.dedupe.buffer.size=16777216

# Two cores: keep thread pools small.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF

    cat >"$LOG4J_FILE" <<'EOF'
# Generated by deploy/local/kafka/kafka.sh. stdout is redirected to kafka.log.
status = warn
name = kafka-local
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.authorizer.name = kafka.authorizer.logger
logger.authorizer.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = WARN
EOF
}

# ---------------------------------------------------------------- start ----

cmd_start() {
    local port="${KAFKA_PORT:-9092}" data="" partitions="${KAFKA_PARTITIONS:-6}"
    local timeout="${KAFKA_START_TIMEOUT:-60}"
    while (($#)); do
        case "$1" in
            --port) port="${2:?--port needs a value}"; shift 2 ;;
            --port=*) port="${1#*=}"; shift ;;
            --data-dir) data="${2:?--data-dir needs a value}"; shift 2 ;;
            --data-dir=*) data="${1#*=}"; shift ;;
            --partitions) partitions="${2:?--partitions needs a value}"; shift 2 ;;
            --partitions=*) partitions="${1#*=}"; shift ;;
            *) die "start: unknown argument '$1'" ;;
        esac
    done
    [[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "bad partition count '$partitions'"
    [[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "bad KAFKA_START_TIMEOUT '$timeout'"
    init_data_paths "$data"

    local pid
    if pid="$(running_pid)"; then
        [[ -f "$PORT_FILE" ]] || die "broker pid $pid is running but $PORT_FILE is missing"
        log "already running (pid $pid, data $DATA_DIR)"
        run_topics_cmd "$(tr -dc '0-9' <"$PORT_FILE")" "$partitions"
        print_bootstrap
        return 0
    fi
    rm -f "$PID_FILE"

    cmd_fetch
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (need Java 17+)"

    # Ports: controller always automatic; broker as asked.
    local cport
    case "$port" in
        0 | auto)
            port="$(reuse_port "$PORT_FILE" || free_ports 1)"
            ;;
        *)
            if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
                die "bad port '$port'"
            fi
            ! port_open "$port" || die "port $port on 127.0.0.1 is already in use"
            ;;
    esac
    if ! cport="$(reuse_port "$CPORT_FILE")" || [[ "$cport" == "$port" ]]; then
        cport="$(free_ports 2 | grep -vx "$port" | head -n 1)"
    fi

    write_configs "$port" "$cport" "$partitions"
    printf '%s\n' "$port" >"$PORT_FILE"
    printf '%s\n' "$cport" >"$CPORT_FILE"

    local -a jvm heap opts
    read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xmx512m -Xms256m}"
    read -r -a opts <<<"${KAFKA_JVM_OPTS:-$JVM_DEFAULT_OPTS}"
    jvm=("$JAVA" "${heap[@]}" "${opts[@]}"
        "-Dlog4j2.configurationFile=$LOG4J_FILE"
        "-Dkafka.logs.dir=$DATA_DIR"
        -cp "$LIBS_DIR/*")

    # Format once; a formatted data dir carries meta.properties.
    if [[ ! -f "$DATA_DIR/data/meta.properties" ]]; then
        local cid
        cid="$(random_cluster_id)"
        log "formatting storage in $DATA_DIR/data (cluster id $cid)"
        # Static quorum (controller.quorum.voters), so neither --standalone nor
        # --initial-controllers; this lets the controller port change between runs.
        if ! "${jvm[@]}" kafka.tools.StorageTool format \
            --config "$PROPS_FILE" --cluster-id "$cid" --ignore-formatted \
            >"$DATA_DIR/format.log" 2>&1; then
            tail -n 40 "$DATA_DIR/format.log" >&2 || true
            die "storage format failed (full output: $DATA_DIR/format.log)"
        fi
    fi

    [[ ! -f "$LOG_FILE" ]] || mv -f "$LOG_FILE" "$LOG_FILE.prev"
    log "starting Kafka $(kafka_version) on 127.0.0.1:$port (controller $cport, data $DATA_DIR)"
    local -a detach=()
    if command -v setsid >/dev/null 2>&1; then detach=(setsid); fi
    # exec in a subshell: $! is the JVM's pid; setsid detaches it from the
    # caller's process group (Ctrl-C / CI job control); stdin/stdout not inherited.
    (exec "${detach[@]}" "${jvm[@]}" kafka.Kafka "$PROPS_FILE" </dev/null >"$LOG_FILE" 2>&1) &
    pid=$!
    printf '%s\n' "$pid" >"$PID_FILE"

    local deadline=$((SECONDS + timeout))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log "broker exited during startup; last log lines:"
            tail -n 40 "$LOG_FILE" >&2 || true
            rm -f "$PID_FILE"
            exit 1
        fi
        if port_open "$port" && grep -q 'Kafka Server started' "$LOG_FILE" 2>/dev/null; then
            break
        fi
        if ((SECONDS >= deadline)); then
            log "broker not ready after ${timeout}s; last log lines:"
            tail -n 40 "$LOG_FILE" >&2 || true
            stop_pid "$pid" 10
            rm -f "$PID_FILE"
            exit 1
        fi
        sleep 0.2
    done
    log "ready after ${SECONDS}s (pid $pid, log $LOG_FILE)"

    run_topics_cmd "$port" "$partitions"
    print_bootstrap
}

# ---------------------------------------------------------------- stop -----

# stop_pid PID GRACE_SECONDS: SIGTERM, wait, then SIGKILL.
stop_pid() {
    local pid="$1" grace="$2" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < grace * 5; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    log "pid $pid still alive after ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 25; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
}

parse_data_arg() {
    local data=""
    while (($#)); do
        case "$1" in
            --data-dir) data="${2:?--data-dir needs a value}"; shift 2 ;;
            --data-dir=*) data="${1#*=}"; shift ;;
            *) die "unknown argument '$1'" ;;
        esac
    done
    init_data_paths "$data"
}

cmd_stop() {
    parse_data_arg "$@"
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        log "not running"
        return 0
    fi
    log "stopping broker (pid $pid) ..."
    stop_pid "$pid" 30
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    parse_data_arg "$@"
    local pid
    if pid="$(running_pid)" && [[ -f "$PORT_FILE" ]]; then
        log "running (pid $pid, data $DATA_DIR)"
        print_bootstrap
        return 0
    fi
    log "not running"
    return 1
}

main() {
    local sub="${1:-}"
    (($#)) && shift
    case "$sub" in
        fetch) cmd_fetch ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status "$@" ;;
        -h | --help | help) usage ;;
        *) usage; exit 2 ;;
    esac
}

main "$@"

#!/usr/bin/env bash
# Provisions the real services vw runs against, natively on 127.0.0.1, without Docker:
#   Mosquitto 2 (Debian), Apache Kafka 3.9 single-node KRaft (Maven Central jars on Java 17),
#   InfluxDB 1.8 with the v2 write API and Flux (built from source with the Go toolchain).
# Downloads and builds are cached under $VW_SERVICES_CACHE (default ~/.cache/vw-services), so a
# second `up` takes seconds. Usage: scripts/services.sh up|down|status|env|tls-env (the cluster: `cluster ...`, below)
# For fault tests, one service at a time: scripts/services.sh stop|start|restart mosquitto|kafka|influxdb|influxdb-tls
# (stop is SIGTERM, then SIGKILL after 10 s; start reuses the service's data and configuration).
#
# A three-broker Kafka cluster, as a trust would run when one broker is not enough, alongside (not
# instead of) the single broker above, from the same Kafka 3.9 jars: three combined broker+controller
# KRaft nodes (a 3-voter quorum) on loopback addresses 127.0.0.2, 127.0.0.3 and 127.0.0.4 (Linux routes
# all of 127/8 to lo), port $VW_SERVICES_CLUSTER_PORT (default 19092; controllers on the next port),
# with default.replication.factor 3, min.insync.replicas 2 and the offsets and transaction topics
# replicated 3 times, so one broker can die without losing a write acknowledged with acks=all.
#   scripts/services.sh cluster up|down|status|env
#   scripts/services.sh cluster kill-broker N    # SIGKILL node N (1..3): a crash, no controlled shutdown
#   scripts/services.sh cluster stop-broker N    # SIGTERM (controlled shutdown), SIGKILL after 10 s
#   scripts/services.sh cluster start-broker N   # start node N again on its data
#   scripts/services.sh cluster controller       # the node id of the active KRaft controller
# `cluster up` returns once all three brokers are registered; `cluster env` prints KAFKA_CLUSTER_BROKERS.
#
# TLS alongside the plaintext listeners (which stay as they are), with a private CA made once with
# openssl and kept in $RUN/tls (ca.crt is what a client must trust; the server certificate is for
# 127.0.0.1 and localhost): Mosquitto listens for mqtts on $VW_SERVICES_MQTT_TLS_PORT (default 18883),
# with the same passwords and ACL as the plaintext listener; Kafka has a SASL_SSL listener on
# $VW_SERVICES_KAFKA_TLS_PORT (default 19094) taking SCRAM-SHA-512, its user made by this script;
# InfluxDB 1.8 serves one HTTP listener, either http or https, so stunnel terminates TLS in front of it
# on $VW_SERVICES_INFLUX_TLS_PORT (default 18087; service name influxdb-tls). `env` prints these too
# (the TLS_* variables); `tls-env` prints them alone. A broker already running without its TLS listener
# (started by an earlier version of this script) is restarted by `up`, on its data.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${VW_SERVICES_CACHE:-$HOME/.cache/vw-services}"
RUN="${VW_SERVICES_RUN:-$CACHE/run}"
MQTT_PORT="${VW_SERVICES_MQTT_PORT:-18830}"
KAFKA_PORT="${VW_SERVICES_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${VW_SERVICES_KAFKA_CONTROLLER_PORT:-19093}"
INFLUX_PORT="${VW_SERVICES_INFLUX_PORT:-18086}"
MQTT_TLS_PORT="${VW_SERVICES_MQTT_TLS_PORT:-18883}"
KAFKA_TLS_PORT="${VW_SERVICES_KAFKA_TLS_PORT:-19094}"
INFLUX_TLS_PORT="${VW_SERVICES_INFLUX_TLS_PORT:-18087}"
CLUSTER_PORT="${VW_SERVICES_CLUSTER_PORT:-19092}"
CLUSTER_CONTROLLER_PORT=$((CLUSTER_PORT + 1))
CLUSTER_NODES=(1 2 3)
cluster_host() { echo "127.0.0.$(($1 + 1))"; }
KAFKA_VERSION=3.9.1
INFLUX_VERSION=v1.8.10
INFLUX_USER=vw
INFLUX_PASSWORD=vw-services-password
INFLUX_DB=vitals
# Per-device MQTT passwords are derived from this secret (see src/mqtt/credentials.ts).
DEVICE_SECRET="${VW_MQTT_DEVICE_SECRET:-vw-services-device-secret-0123456789}"
INGEST_PASSWORD="${VW_SERVICES_INGEST_PASSWORD:-vw-services-ingest-password}"
# Capacity sources' tokens (their MQTT passwords) are derived from this secret (src/capacity/credentials.ts).
CAPACITY_SECRET="${VW_CAPACITY_SECRET:-vw-services-capacity-secret-0123456789}"
# The private CA and the server certificate every TLS listener presents.
TLS_DIR="$RUN/tls"
TLS_KEYSTORE_PASSWORD=vw-services-keystore
# Kafka's SASL_SSL listener: one SCRAM-SHA-512 user, made on the running broker by start_kafka.
KAFKA_SASL_USER=vw-tls
KAFKA_SASL_PASSWORD="${VW_SERVICES_KAFKA_SASL_PASSWORD:-vw-services-kafka-sasl-password}"

log() { printf '[services] %s\n' "$*" >&2; }

wait_port() { # host port seconds
  local deadline=$((SECONDS + $3))
  until (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then return 1; fi
    sleep 0.5
  done
}

# A pid file counts only if its process is alive and is still that service (pids are reused).
running() {
  local pid marker
  [ -f "$RUN/$1.pid" ] || return 1
  pid=$(cat "$RUN/$1.pid")
  case "$1" in mosquitto) marker=mosquitto ;; kafka | kafka-cluster-*) marker=kafka.Kafka ;; influxdb) marker=influxd ;; influxdb-tls) marker=stunnel ;; esac
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$marker"
}

# ---------- installs (cached) ----------

install_mosquitto() {
  if ! command -v mosquitto >/dev/null || ! command -v mosquitto_passwd >/dev/null; then
    log "installing mosquitto from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mosquitto mosquitto-clients >/dev/null
  fi
}

install_kafka() {
  if [ ! -f "$CACHE/kafka/libs/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
    mkdir -p "$CACHE/kafka/libs"
    mvn -q -f "$ROOT/scripts/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$CACHE/kafka/libs"
  fi
}

install_influxdb() {
  if [ ! -x "$CACHE/influxdb/bin/influxd" ]; then
    log "building InfluxDB $INFLUX_VERSION from source (first run only; several minutes)"
    mkdir -p "$CACHE/influxdb/bin"
    GOBIN="$CACHE/influxdb/bin" go install "github.com/influxdata/influxdb/cmd/influxd@$INFLUX_VERSION"
  fi
}

install_stunnel() {
  if ! command -v stunnel4 >/dev/null; then
    log "installing stunnel4 from Debian (TLS in front of InfluxDB)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq stunnel4 >/dev/null
  fi
}

# The private CA and a server certificate for 127.0.0.1/localhost signed by it, made once: PEM files
# for Mosquitto and stunnel, a PKCS12 keystore for Kafka. Made in a scratch directory and moved into
# place whole, so a run interrupted half way leaves nothing half made.
ensure_tls() {
  [ -s "$TLS_DIR/ca.crt" ] && [ -s "$TLS_DIR/server.p12" ] && return
  local tmp
  mkdir -p "$RUN"
  tmp=$(mktemp -d "$RUN/tls.XXXXXX")
  (
    cd "$tmp"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=vw services test CA" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -sha256 -days 825 -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -extfile server.ext -out server.crt 2>/dev/null
    openssl pkcs12 -export -in server.crt -inkey server.key -certfile ca.crt -name server -out server.p12 -passout "pass:$TLS_KEYSTORE_PASSWORD"
    chmod 644 ca.crt server.crt
    rm -f server.csr server.ext ca.srl
  )
  if [ -s "$TLS_DIR/ca.crt" ] && [ -s "$TLS_DIR/server.p12" ]; then rm -rf "$tmp"; return; fi # made meanwhile by another run
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
  log "private CA and server certificate made in $TLS_DIR"
}

# ---------- starts ----------

start_mosquitto() {
  running mosquitto && return
  mkdir -p "$RUN/mosquitto"
  # Credentials and ACL from the registry: a device or a capacity source may publish only to its own topic.
  (cd "$ROOT" && VW_MQTT_DEVICE_SECRET="$DEVICE_SECRET" VW_MQTT_USERNAME=vw-ingest VW_MQTT_PASSWORD="$INGEST_PASSWORD" \
    VW_CAPACITY_SECRET="$CAPACITY_SECRET" \
    node --import tsx src/cli/main.ts mqtt-auth --out "$RUN/mosquitto" \
      --seeds seeds/demo-ward.yaml,test/fixtures/integration-ward.yaml >/dev/null)
  mosquitto_passwd -U "$RUN/mosquitto/passwd"
  # As root, mosquitto would drop to the 'mosquitto' user, which cannot read files under root's home.
  local run_as=""
  [ "$(id -u)" = 0 ] && run_as="user root"
  ensure_tls
  cat >"$RUN/mosquitto/mosquitto.conf" <<CONF
$run_as
per_listener_settings false
listener $MQTT_PORT 127.0.0.1
allow_anonymous false
password_file $RUN/mosquitto/passwd
acl_file $RUN/mosquitto/acl
# As deploy/mosquitto/mosquitto.conf: sessions and their queued QoS 1 messages (those the broker has
# acknowledged to devices but ingest has not yet acknowledged) are saved at shutdown and restored on
# start, so a broker restart loses no reading.
persistence true
persistence_location $RUN/mosquitto/
# Sessions of test runs long gone (each run's ingest has its own client id) are not kept for ever.
persistent_client_expiration 2h
max_queued_messages 100000
# Ingest acknowledges device messages in batches once they are on Kafka: let the broker send it many at a time.
max_inflight_messages 1000
log_dest file $RUN/mosquitto/mosquitto.log
# mqtts, with the same passwords and ACL (per_listener_settings false: they are the broker's, not a listener's).
listener $MQTT_TLS_PORT 127.0.0.1
cafile $TLS_DIR/ca.crt
certfile $TLS_DIR/server.crt
keyfile $TLS_DIR/server.key
tls_version tlsv1.2
CONF
  mosquitto -c "$RUN/mosquitto/mosquitto.conf" >/dev/null 2>&1 &
  echo $! >"$RUN/mosquitto.pid"
  wait_port 127.0.0.1 "$MQTT_PORT" 20 || { log "mosquitto did not start: $(tail -5 "$RUN/mosquitto/mosquitto.log")"; return 1; }
  wait_port 127.0.0.1 "$MQTT_TLS_PORT" 20 || { log "mosquitto's TLS listener did not start: $(tail -5 "$RUN/mosquitto/mosquitto.log")"; return 1; }
  log "mosquitto on 127.0.0.1:$MQTT_PORT, mqtts on 127.0.0.1:$MQTT_TLS_PORT"
}

# Every test run makes topics of its own (a run prefix) and no later run reads them, but the broker
# loads every partition it holds at start: thousands of them made a start take minutes. On `up` with
# the broker stopped, a data directory holding more than a few runs' partitions is formatted afresh.
# (`start kafka`, as the fault tests use it, keeps the data: a restarted broker must still hold it.)
prune_kafka() {
  running kafka && return
  local data="$RUN/kafka/data"
  [ -d "$data" ] || return 0
  local partitions
  partitions=$(find "$data" -mindepth 1 -maxdepth 1 -type d | wc -l)
  if [ "$partitions" -gt "${VW_SERVICES_KAFKA_MAX_PARTITIONS:-1500}" ]; then
    log "kafka holds $partitions partitions of earlier test runs: starting it on empty data"
    rm -rf "$data"
  fi
}

# A Kafka node's log4j configuration in DIR: warnings and worse, to DIR/kafka.log.
write_kafka_log4j() { # dir
  local dir=$1
  cat >"$dir/log4j.properties" <<CONF
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$dir/kafka.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
CONF
}

start_kafka() {
  running kafka && return
  local dir="$RUN/kafka"
  mkdir -p "$dir/data"
  ensure_tls
  cat >"$dir/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_TLS_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_TLS_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL
# Clients over TLS sign in with SCRAM-SHA-512 (users: kafka.admin.ConfigCommand, below).
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.ssl.keystore.type=PKCS12
listener.name.sasl_ssl.ssl.keystore.location=$TLS_DIR/server.p12
listener.name.sasl_ssl.ssl.keystore.password=$TLS_KEYSTORE_PASSWORD
listener.name.sasl_ssl.ssl.enabled.protocols=TLSv1.2,TLSv1.3
log.dirs=$dir/data
num.partitions=8
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=24
CONF
  write_kafka_log4j "$dir"
  local cp="$CACHE/kafka/libs/*"
  local java=(java -Xms256m -Xmx512m -XX:+UseG1GC -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$cp")
  if [ ! -f "$dir/data/meta.properties" ]; then
    "${java[@]}" kafka.tools.StorageTool format -t "$("${java[@]}" kafka.tools.StorageTool random-uuid)" -c "$dir/server.properties" >/dev/null
  fi
  "${java[@]}" kafka.Kafka "$dir/server.properties" >"$dir/stdout.log" 2>&1 &
  echo $! >"$RUN/kafka.pid"
  # A broker holding many partitions (every test run makes its own topics) takes long to load them on a
  # busy 2-CPU machine: about 100 s for 7,000 partition directories.
  wait_port 127.0.0.1 "$KAFKA_PORT" "${VW_SERVICES_KAFKA_START_SECONDS:-150}" || { log "kafka did not start: $(tail -n 5 "$dir/stdout.log" "$dir/kafka.log")"; return 1; }
  wait_port 127.0.0.1 "$KAFKA_TLS_PORT" 30 || { log "kafka's SASL_SSL listener did not start: $(tail -n 5 "$dir/kafka.log")"; return 1; }
  # The SASL user. SCRAM credentials live in the cluster's metadata: made once per data directory (and
  # password), noted in scram-user beside it. The port answers before the broker is ready to take the
  # request, hence the tries.
  local try made
  made="$(sed -n 's/^cluster.id=//p' "$dir/data/meta.properties") $(printf '%s:%s' "$KAFKA_SASL_USER" "$KAFKA_SASL_PASSWORD" | sha256sum | cut -c1-16)"
  if [ "$(cat "$dir/scram-user" 2>/dev/null)" != "$made" ]; then
    for try in 1 2 3 4 5 6; do
      if "${java[@]}" kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users --entity-name "$KAFKA_SASL_USER" \
        --add-config "SCRAM-SHA-512=[iterations=8192,password=$KAFKA_SASL_PASSWORD]" >"$dir/scram.log" 2>&1; then
        echo "$made" >"$dir/scram-user"
        break
      fi
      [ "$try" = 6 ] && { log "kafka: could not make the SASL user: $(tail -n 3 "$dir/scram.log")"; return 1; }
      sleep 5
    done
  fi
  log "kafka on 127.0.0.1:$KAFKA_PORT, SASL_SSL on 127.0.0.1:$KAFKA_TLS_PORT (user $KAFKA_SASL_USER)"
}

start_influxdb() {
  running influxdb && return
  local dir="$RUN/influxdb"
  mkdir -p "$dir"
  cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$((INFLUX_PORT + 2))"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_PORT"
  auth-enabled = true
  flux-enabled = true
  log-enabled = false
[logging]
  level = "warn"
CONF
  "$CACHE/influxdb/bin/influxd" run -config "$dir/influxdb.conf" >"$dir/influxdb.log" 2>&1 &
  echo $! >"$RUN/influxdb.pid"
  wait_port 127.0.0.1 "$INFLUX_PORT" 60 || { log "influxdb did not start: $(tail -5 "$dir/influxdb.log")"; return 1; }
  # The first user must be an admin; creating it again on a later run is harmless.
  curl -sf -XPOST "http://127.0.0.1:$INFLUX_PORT/query" \
    --data-urlencode "q=CREATE USER $INFLUX_USER WITH PASSWORD '$INFLUX_PASSWORD' WITH ALL PRIVILEGES" >/dev/null \
    || curl -sf -XPOST -u "$INFLUX_USER:$INFLUX_PASSWORD" "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "q=SHOW USERS" >/dev/null
  curl -sf -XPOST -u "$INFLUX_USER:$INFLUX_PASSWORD" "http://127.0.0.1:$INFLUX_PORT/query" \
    --data-urlencode "q=CREATE DATABASE $INFLUX_DB" >/dev/null
  log "influxdb on 127.0.0.1:$INFLUX_PORT"
}

# InfluxDB 1.8 has one HTTP listener (http or https, not both), and the other tests use it over http:
# stunnel terminates TLS in front of it, as a TLS-terminating proxy does in many deployments.
start_influxdb_tls() {
  running influxdb-tls && return
  local dir="$RUN/influxdb-tls"
  mkdir -p "$dir"
  ensure_tls
  cat >"$dir/stunnel.conf" <<CONF
foreground = yes
pid =
debug = warning
output = $dir/stunnel.log
[influxdb]
accept = 127.0.0.1:$INFLUX_TLS_PORT
connect = 127.0.0.1:$INFLUX_PORT
cert = $TLS_DIR/server.crt
key = $TLS_DIR/server.key
sslVersionMin = TLSv1.2
CONF
  stunnel4 "$dir/stunnel.conf" >"$dir/stdout.log" 2>&1 &
  echo $! >"$RUN/influxdb-tls.pid"
  wait_port 127.0.0.1 "$INFLUX_TLS_PORT" 20 || { log "stunnel did not start: $(tail -n 5 "$dir/stdout.log" "$dir/stunnel.log")"; return 1; }
  log "influxdb over https on 127.0.0.1:$INFLUX_TLS_PORT (stunnel)"
}

# A broker started by an earlier version of this script has no TLS listener: stopped here, so that
# `up` starts it again (on its data) with one.
without_tls_listener() { # name config-file port
  running "$1" && ! grep -qw "$3" "$2" 2>/dev/null
}

# ---------- the three-broker cluster ----------

cluster_voters() {
  local voters="" m
  for m in "${CLUSTER_NODES[@]}"; do voters+="$m@$(cluster_host "$m"):$CLUSTER_CONTROLLER_PORT,"; done
  echo "${voters%,}"
}

cluster_brokers() {
  local brokers="" m
  for m in "${CLUSTER_NODES[@]}"; do brokers+="$(cluster_host "$m"):$CLUSTER_PORT,"; done
  echo "${brokers%,}"
}

cluster_node() {
  case "${1:-}" in 1 | 2 | 3) ;; *) echo "usage: $0 cluster ${2:-start-broker} 1|2|3" >&2; exit 2 ;; esac
}

# Writes node N's configuration and formats its data dir (once, with the cluster's one id); no start.
prepare_cluster_node() {
  local n=$1 host dir
  host=$(cluster_host "$n")
  dir="$RUN/kafka-cluster/node$n"
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<CONF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(cluster_voters)
listeners=PLAINTEXT://$host:$CLUSTER_PORT,CONTROLLER://$host:$CLUSTER_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$host:$CLUSTER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=8
# Every partition on all three brokers; a write acknowledged with acks=all is on at least two of them.
default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
unclean.leader.election.enable=false
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=24
CONF
  write_kafka_log4j "$dir"
  if [ ! -f "$dir/data/meta.properties" ]; then
    local id_file="$RUN/kafka-cluster/cluster.id"
    [ -s "$id_file" ] || (cluster_java "$n" kafka.tools.StorageTool random-uuid >"$id_file")
    (cluster_java "$n" kafka.tools.StorageTool format -t "$(cat "$id_file")" -c "$dir/server.properties" >/dev/null)
  fi
}

cluster_java() { # N main-class args...
  local dir="$RUN/kafka-cluster/node$1"
  shift
  # exec: started in the background, the pid recorded is the JVM's own.
  exec java -Xms128m -Xmx512m -XX:+UseG1GC -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$CACHE/kafka/libs/*" "$@"
}

# Starts node N (after prepare_cluster_node); returns once its broker port answers.
start_cluster_node() {
  local n=$1 dir="$RUN/kafka-cluster/node$1"
  running "kafka-cluster-$n" && return
  prepare_cluster_node "$n"
  (cluster_java "$n" kafka.Kafka "$dir/server.properties") >"$dir/stdout.log" 2>&1 &
  echo $! >"$RUN/kafka-cluster-$n.pid"
}

wait_cluster_node() {
  local n=$1 dir="$RUN/kafka-cluster/node$1"
  wait_port "$(cluster_host "$n")" "$CLUSTER_PORT" 120 \
    || { log "kafka cluster node $n did not start: $(tail -n 5 "$dir/stdout.log" "$dir/kafka.log")"; return 1; }
  log "kafka cluster node $n on $(cluster_host "$n"):$CLUSTER_PORT"
}

# Until every broker is registered and unfenced (metadata lists all three), through vw's own client.
wait_cluster_ready() {
  (cd "$ROOT" && KAFKA_CLUSTER_BROKERS="$(cluster_brokers)" node --input-type=module -e '
    import kafkajs from "kafkajs";
    const admin = new kafkajs.Kafka({ clientId: "vw-services", brokers: process.env.KAFKA_CLUSTER_BROKERS.split(","), logLevel: kafkajs.logLevel.NOTHING }).admin();
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await admin.connect();
        const { brokers } = await admin.describeCluster();
        if (brokers.length === 3) break;
      } catch {}
      if (Date.now() > deadline) { console.error("the cluster did not list three brokers in 120 s"); process.exit(1); }
      await new Promise((r) => setTimeout(r, 1000));
    }
    await admin.disconnect();
  ') || return 1
  log "kafka cluster ready: $(cluster_brokers)"
}

# The active KRaft controller, from the quorum state a running node keeps on disk.
cluster_controller() {
  local n file
  for n in "${CLUSTER_NODES[@]}"; do
    running "kafka-cluster-$n" || continue
    file="$RUN/kafka-cluster/node$n/data/__cluster_metadata-0/quorum-state"
    [ -f "$file" ] || continue
    grep -o '"leaderId":[0-9-]*' "$file" | cut -d: -f2
    return
  done
  return 1
}

cluster() {
  case "${1:-}" in
    up)
      mkdir -p "$RUN/kafka-cluster"
      install_kafka
      local n
      # Formatted one after the other (the first makes the cluster id), started together.
      for n in "${CLUSTER_NODES[@]}"; do running "kafka-cluster-$n" || prepare_cluster_node "$n"; done
      for n in "${CLUSTER_NODES[@]}"; do start_cluster_node "$n"; done
      for n in "${CLUSTER_NODES[@]}"; do wait_cluster_node "$n"; done
      wait_cluster_ready
      ;;
    down)
      local n
      for n in "${CLUSTER_NODES[@]}"; do stop "kafka-cluster-$n"; done
      ;;
    status)
      local n all=0
      for n in "${CLUSTER_NODES[@]}"; do
        if running "kafka-cluster-$n"; then echo "kafka cluster node $n ($(cluster_host "$n"):$CLUSTER_PORT): running (pid $(cat "$RUN/kafka-cluster-$n.pid"))"
        else echo "kafka cluster node $n ($(cluster_host "$n"):$CLUSTER_PORT): stopped"; all=1; fi
      done
      echo "active controller: node $(cluster_controller || echo none)"
      return $all
      ;;
    env)
      echo "export KAFKA_CLUSTER_BROKERS=$(cluster_brokers)"
      ;;
    controller)
      cluster_controller
      ;;
    kill-broker)
      cluster_node "${2:-}" kill-broker
      if running "kafka-cluster-$2"; then
        local pid
        pid=$(cat "$RUN/kafka-cluster-$2.pid")
        kill -9 "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        log "kafka cluster node $2 killed (SIGKILL)"
      fi
      rm -f "$RUN/kafka-cluster-$2.pid"
      ;;
    stop-broker)
      cluster_node "${2:-}" stop-broker
      stop "kafka-cluster-$2"
      ;;
    start-broker)
      cluster_node "${2:-}" start-broker
      mkdir -p "$RUN/kafka-cluster"
      start_cluster_node "$2"
      wait_cluster_node "$2"
      ;;
    *)
      echo "usage: $0 cluster up|down|status|env|controller|kill-broker N|stop-broker N|start-broker N" >&2
      exit 2
      ;;
  esac
}

stop() {
  local name=$1
  if running "$name"; then
    local pid
    pid=$(cat "$RUN/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    log "$name stopped"
  fi
  rm -f "$RUN/$name.pid"
}

print_tls_env() {
  cat <<ENV
export TLS_CA_FILE=$TLS_DIR/ca.crt
export TLS_MQTT_URL=mqtts://127.0.0.1:$MQTT_TLS_PORT
export TLS_KAFKA_BROKERS=127.0.0.1:$KAFKA_TLS_PORT
export TLS_KAFKA_SASL_MECHANISM=scram-sha-512
export TLS_KAFKA_SASL_USERNAME=$KAFKA_SASL_USER
export TLS_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD
export TLS_INFLUX_URL=https://127.0.0.1:$INFLUX_TLS_PORT
ENV
}

print_env() {
  cat <<ENV
export MQTT_URL=mqtt://127.0.0.1:$MQTT_PORT
export MQTT_USERNAME=vw-ingest
export MQTT_PASSWORD=$INGEST_PASSWORD
export VW_MQTT_DEVICE_SECRET=$DEVICE_SECRET
export VW_CAPACITY_SECRET=$CAPACITY_SECRET
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
export INFLUX_TOKEN=$INFLUX_USER:$INFLUX_PASSWORD
export INFLUX_ORG=-
export INFLUX_BUCKET=$INFLUX_DB/autogen
ENV
  print_tls_env
}

case "${1:-}" in
  up)
    mkdir -p "$RUN"
    install_mosquitto
    install_kafka
    install_influxdb
    install_stunnel
    ensure_tls
    if without_tls_listener mosquitto "$RUN/mosquitto/mosquitto.conf" "$MQTT_TLS_PORT"; then log "mosquitto has no TLS listener yet: restarting it"; stop mosquitto; fi
    start_mosquitto
    prune_kafka
    if without_tls_listener kafka "$RUN/kafka/server.properties" "$KAFKA_TLS_PORT"; then log "kafka has no SASL_SSL listener yet: restarting it"; stop kafka; fi
    start_kafka
    start_influxdb
    start_influxdb_tls
    ;;
  down)
    stop mosquitto
    stop kafka
    stop influxdb
    stop influxdb-tls
    ;;
  status)
    for s in mosquitto kafka influxdb influxdb-tls; do
      if running "$s"; then echo "$s: running (pid $(cat "$RUN/$s.pid"))"; else echo "$s: stopped"; fi
    done
    ;;
  env)
    print_env
    ;;
  tls-env)
    print_tls_env
    ;;
  stop | start | restart)
    case "${2:-}" in
      mosquitto | kafka | influxdb | influxdb-tls) ;;
      *) echo "usage: $0 $1 mosquitto|kafka|influxdb|influxdb-tls" >&2; exit 2 ;;
    esac
    mkdir -p "$RUN"
    if [ "$1" != start ]; then stop "$2"; fi
    if [ "$1" != stop ]; then "start_${2//-/_}"; fi
    ;;
  cluster)
    shift
    cluster "$@"
    ;;
  *)
    echo "usage: $0 up|down|status|env|tls-env|stop <name>|start <name>|restart <name>|cluster <command>" >&2
    exit 2
    ;;
esac

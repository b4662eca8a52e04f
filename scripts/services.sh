#!/usr/bin/env bash
# Makes sure the local RabbitMQ and PostgreSQL are installed and running.
# Sourced by scripts/test, scripts/run and .ci/run; safe to run repeatedly.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 120); do
    port_open "$port" && return 0
    sleep 0.5
  done
  echo "error: $what did not open 127.0.0.1:$port within 60 s" >&2
  return 1
}

apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "error: $* missing and apt-get unavailable; install it by hand" >&2
    return 1
  fi
  echo "installing $* ..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_rabbitmq() {
  port_open 5672 && return 0
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  echo "starting RabbitMQ ..." >&2
  # RabbitMQ 3.10 sizes its file handle cache from the soft descriptor
  # limit (1024 after `su rabbitmq`); once queue files and sockets use it
  # up, a new AMQP connection waits forever in its handshake. The env file
  # is sourced by the server's own shell, after su, so the limit holds.
  local env_file=/etc/rabbitmq/rabbitmq-env.conf
  if [ -w "$env_file" ] && ! grep -q 'ulimit -n' "$env_file"; then
    printf '\n%s\n' 'ulimit -n "$(ulimit -Hn)" 2>/dev/null || true' >>"$env_file"
  fi
  rabbitmq-server -detached >/dev/null 2>&1 || true
  wait_port 5672 RabbitMQ
}

ensure_postgres() {
  port_open 5432 && return 0
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  echo "starting PostgreSQL ..." >&2
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_port 5432 PostgreSQL
}

ensure_services() {
  ensure_rabbitmq
  ensure_postgres
}

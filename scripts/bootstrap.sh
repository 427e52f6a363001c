#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian machine for the tests: RabbitMQ, PostgreSQL and PgBouncer
# binaries (the tests start their own throwaway servers from them), Chromium for the dashboard's
# browser tests, the Python packages the Celery interop tests use, and node_modules.
# Run it, or `source` it (scripts/test.sh does).
# Exports CELERY_PYTHON (not WT_*: the config loader rejects unknown WT_ variables): a python3 that can import celery, sqlalchemy and psycopg2.

_wt_bootstrap() {
  local root
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  local say="[bootstrap]"

  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo -n"
    else
      sudo="none"
    fi
  fi

  local packages=()
  if [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && ! command -v rabbitmq-server >/dev/null 2>&1; then
    packages+=(rabbitmq-server)
  fi
  if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null 2>&1; then
    packages+=(postgresql)
  fi
  # The result store's behaviour behind a transaction-pooling PgBouncer is tested against a real one.
  if [ ! -x /usr/sbin/pgbouncer ] && ! command -v pgbouncer >/dev/null 2>&1; then
    packages+=(pgbouncer)
  fi
  # The dashboard's end-to-end tests drive Debian's Chromium (playwright-core never downloads a browser).
  if [ ! -x /usr/bin/chromium ]; then
    packages+=(chromium)
  fi
  # Debian's packages install into /usr/bin/python3, which may not be the python3 on PATH (pyenv).
  local py=""
  for candidate in /usr/bin/python3 "$(command -v python3 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && "$candidate" -c 'import celery, sqlalchemy, psycopg2' 2>/dev/null; then
      py="$candidate"
      break
    fi
  done
  if [ -z "$py" ]; then
    packages+=(python3-celery python3-sqlalchemy python3-psycopg2)
  fi

  if [ "${#packages[@]}" -gt 0 ]; then
    if [ "$sudo" = none ]; then
      echo "$say missing OS packages: ${packages[*]}" >&2
      echo "$say not root and no password-less sudo: run as root or" \
        "\`sudo apt-get install ${packages[*]}\`, then run this again" >&2
      return 1
    fi
    echo "$say installing ${packages[*]}"
    # Keep the packages' init scripts from starting system servers (a RabbitMQ on 5672 and a
    # PostgreSQL on 5432 that nothing here uses): the Debian policy-rc.d convention.
    local policy=/usr/sbin/policy-rc.d created_policy=""
    if [ ! -e "$policy" ]; then
      $sudo sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy" && created_policy=1
    fi
    $sudo apt-get update -qq || return 1
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" || return 1
    [ -n "$created_policy" ] && $sudo rm -f "$policy"
    # Should a system node have started anyway, stop it.
    if [[ " ${packages[*]} " == *" rabbitmq-server "* ]] && (: </dev/tcp/127.0.0.1/5672) 2>/dev/null; then
      echo "$say stopping the system RabbitMQ node the package started"
      $sudo rabbitmqctl stop >/dev/null 2>&1 || $sudo service rabbitmq-server stop >/dev/null 2>&1 || true
    fi
    if [[ " ${packages[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null 2>&1; then
      $sudo pg_lsclusters -h 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r version name; do
        $sudo pg_ctlcluster "$version" "$name" stop || true
      done
    fi
  fi
  if [ -z "$py" ]; then
    py=/usr/bin/python3
    "$py" -c 'import celery, sqlalchemy, psycopg2' || {
      echo "$say $py still cannot import celery, sqlalchemy and psycopg2" >&2
      return 1
    }
  fi
  export CELERY_PYTHON="$py"

  if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
    echo "$say npm ci"
    local npm_log
    npm_log="$(mktemp)"
    if (cd "$root" && npm ci --no-audit --no-fund >"$npm_log" 2>&1); then
      tail -n 3 "$npm_log"
    else
      # npm prints its whole usage text after the reason: show the reason only.
      grep -v '^npm warn' "$npm_log" | head -n 15 >&2
      # npm ci refuses a lock file that misses entries (e.g. other platforms' optional binaries);
      # an install still gets the tests running, and the warning says what to fix.
      echo "$say WARNING: npm ci failed; falling back to npm install." \
        "Fix: run \`npm install\` and commit package-lock.json" >&2
      (cd "$root" && npm install --no-audit --no-fund) || { rm -f "$npm_log"; return 1; }
    fi
    rm -f "$npm_log"
  fi
}

if ! _wt_bootstrap; then
  echo "[bootstrap] failed" >&2
  # exit when run, return when sourced
  return 1 2>/dev/null || exit 1
fi
unset -f _wt_bootstrap

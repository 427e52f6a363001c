#!/usr/bin/env bash
# The main-job command (`npm run demo`): set the machine up, then scaffold a worker service, run it
# against throwaway RabbitMQ and PostgreSQL servers, send it tasks and show the results.
# Uses AMQP_URL / DATABASE_URL instead when they are set. `npm run demo -- --keep` keeps the service.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh
exec npx tsx --conditions=@worker-toolbox/source scripts/demo.ts "$@"

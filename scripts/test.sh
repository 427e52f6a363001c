#!/usr/bin/env bash
# The test command (`npm test`): set the machine up, then run every vitest project.
# Integration tests start a throwaway RabbitMQ and PostgreSQL unless AMQP_URL / DATABASE_URL are set.
# Extra arguments go to vitest, e.g. `npm test -- --project unit`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bootstrap.sh
source scripts/bootstrap.sh
exec npx vitest run "$@"

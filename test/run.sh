#!/usr/bin/env bash
# The project's test command (README, .ci/run): formatting, vet, lint, then every Go test.
# Run it as root on a machine prepared by test/setup.sh; with CI=true a test that cannot run
# (no root, a missing tool) fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
golangci-lint run ./...
go test -count=1 -timeout 30m ./...

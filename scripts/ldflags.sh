#!/usr/bin/env bash
# The -ldflags every build of kpar uses: the revision stamped into the binary
# (results.Revision), so every result names the code that produced it even
# where the toolchain embeds no VCS data (GOFLAGS=-buildvcs=false). "+dirty"
# when the work tree differs from the commit (untracked files included, minus
# what .gitignore leaves out); nothing outside a git checkout, where kpar
# falls back to Go's build info.
set -euo pipefail
cd "$(dirname "$0")/.."
rev="$(git rev-parse --short=12 HEAD 2>/dev/null || true)"
[[ -n "$rev" ]] || exit 0
if [[ -n "$(git status --porcelain 2>/dev/null)" ]]; then rev="$rev+dirty"; fi
echo "-X github.com/kpar/kpar/internal/results.Revision=$rev"

#!/bin/sh
# Restore a dump made by deploy/backup.sh into an EMPTY database (docs/deploy.md).
# Usage: deploy/restore.sh FILE TARGET_URL   (TARGET_URL: postgresql[+asyncpg]://.../db)
# Stop the bot first when restoring over the database it uses.
set -eu
file="${1:?usage: restore.sh FILE TARGET_URL}"
target="${2:?usage: restore.sh FILE TARGET_URL}"
libpq_url=$(printf '%s' "$target" | sed 's#^postgresql+[a-z0-9]*://#postgresql://#')
pg_restore --no-owner --exit-on-error --single-transaction --dbname="$libpq_url" "$file"
echo "restored $file"

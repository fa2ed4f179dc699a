#!/bin/sh
# Back the PropDesk database up (docs/deploy.md): a compressed custom-format dump that
# pg_restore reads. Usage: deploy/backup.sh [FILE]   (default: propdesk-YYYY-MM-DDTHHMM.dump)
# Reads PROPDESK_DATABASE_URL (postgresql+asyncpg://user:pass@host:port/db) as the bot does.
set -eu
url="${PROPDESK_DATABASE_URL:?set PROPDESK_DATABASE_URL}"
file="${1:-propdesk-$(date +%Y-%m-%dT%H%M).dump}"
# libpq does not know SQLAlchemy's driver suffix
libpq_url=$(printf '%s' "$url" | sed 's#^postgresql+[a-z0-9]*://#postgresql://#')
pg_dump --format=custom --compress=6 --no-owner --file="$file" --dbname="$libpq_url"
echo "backup written: $file"

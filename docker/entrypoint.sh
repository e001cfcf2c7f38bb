#!/bin/sh
# Run mediafix as the PUID/PGID user (so files in /output belong to the host user),
# after making sure that user can write its data and output folders.
set -eu
PUID="${PUID:-1000}"
PGID="${PGID:-1000}"
if [ "$(id -u)" = "0" ]; then
  getent group mediafix >/dev/null 2>&1 || groupadd -o -g "$PGID" mediafix
  getent passwd mediafix >/dev/null 2>&1 || useradd -o -u "$PUID" -g "$PGID" -M -d /data -s /usr/sbin/nologin mediafix
  for dir in "${MEDIAFIX_DATA_DIR:-/data}" "${MEDIAFIX_OUTPUT_DIR:-/output}"; do
    mkdir -p "$dir"
    [ "$(stat -c %u "$dir")" = "$PUID" ] || chown "$PUID:$PGID" "$dir"
  done
  exec gosu "$PUID:$PGID" mediafix "$@"
fi
exec mediafix "$@"

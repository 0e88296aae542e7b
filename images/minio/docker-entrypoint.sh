#!/bin/bash
# MinIO's `minio server DIR --address [HOST]:PORT` and root credentials,
# mapped onto s3s-fs's flags.
set -euo pipefail
[ "${1:-}" = minio ] && shift
if [ "${1:-}" != server ]; then
  exec "$@"
fi
shift
dir="" port=9000
while [ $# -gt 0 ]; do
  case "$1" in
    --address) port="${2##*:}"; shift 2 ;;
    --console-address) shift 2 ;;
    --quiet|--json) shift ;;
    -*) echo "docker-entrypoint: unsupported flag $1" >&2; exit 2 ;;
    *) dir="$1"; shift ;;
  esac
done
: "${MINIO_ROOT_USER:=minioadmin}" "${MINIO_ROOT_PASSWORD:=minioadmin}"
mkdir -p "$dir"
exec s3s-fs --host 0.0.0.0 --port "$port" \
  --access-key "$MINIO_ROOT_USER" --secret-key "$MINIO_ROOT_PASSWORD" "$dir"

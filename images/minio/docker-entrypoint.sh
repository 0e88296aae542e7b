#!/bin/bash
# MinIO's `minio server DIR --address [HOST]:PORT` and root credentials,
# mapped onto berth's own object store, which reads the credentials from
# the same variables (never from its command line).
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
export MINIO_ROOT_USER="${MINIO_ROOT_USER:-minioadmin}"
export MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-minioadmin}"
exec berth object-store serve "$dir" --address "0.0.0.0:$port"

#!/bin/bash
# The official redis image's contract: options alone go to redis-server,
# which runs as the redis user in /data.
set -euo pipefail
if [ "${1:0:1}" = '-' ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi
# As the official image does: without a config file, the server listens on
# every interface of the container, so protected mode (loopback only without
# a password) would refuse the published port.
second=${2:-}
if [ "$1" = 'redis-server' ] && [ "${second%.conf}" = "$second" ] && [[ " $* " != *" --protected-mode "* ]]; then
  set -- "$@" --protected-mode no
fi
if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"

#!/bin/bash
# Runs the start hooks in /usr/local/bin/start-notebook.d/ (each may export settings), then execs the command.
# tini is PID 1 and forwards signals to the process group, so `docker stop` ends the server at once.
set -e
if [ -d /usr/local/bin/start-notebook.d ]; then
    for hook in /usr/local/bin/start-notebook.d/*.sh; do
        [ -e "$hook" ] && source "$hook"
    done
fi
if [ $# -eq 0 ]; then
    exec /bin/bash
fi
exec "$@"

# A token only this container knows, so that `nbfleet-activity` (run by docker exec) can ask the server
# for its activity; it is never put into a URL and never leaves the container.
NBFLEET_TOKEN_FILE="/tmp/.nbfleet-token-$(id -u)"
(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "${NBFLEET_TOKEN_FILE}")
export JUPYTER_TOKEN_FILE="${NBFLEET_TOKEN_FILE}"

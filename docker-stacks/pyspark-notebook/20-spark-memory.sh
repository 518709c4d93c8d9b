# Spark's driver (the JVM of a local job) gets a share of the container's memory limit, so that a job
# that needs more fails with Spark's OutOfMemoryError rather than the kernel being OOM-killed.
# NBFLEET_SPARK_MEMORY_SHARE (percent, default 60) leaves room for Python and the server.
limit=""
if [ -r /sys/fs/cgroup/memory.max ]; then
    limit=$(cat /sys/fs/cgroup/memory.max)                      # cgroup v2
elif [ -r /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
    limit=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)    # cgroup v1
fi
total=$(awk '/MemTotal/ {print $2 * 1024}' /proc/meminfo)
if [ -z "$limit" ] || [ "$limit" = "max" ] || [ "$limit" -ge "$total" ] 2>/dev/null; then
    limit=$total
fi
share=${NBFLEET_SPARK_MEMORY_SHARE:-60}
driver_mb=$(( limit / 1024 / 1024 * share / 100 ))
[ "$driver_mb" -lt 256 ] && driver_mb=256
export NBFLEET_SPARK_DRIVER_MEMORY="${driver_mb}m"
export PYSPARK_SUBMIT_ARGS="--driver-memory ${driver_mb}m pyspark-shell"

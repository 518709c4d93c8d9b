"""Runs inside a grading sandbox (``nbfleet.grading.sandbox``): execute one submission's notebooks and print the result.

It runs with the course image's own Python, nbclient and nbformat, as the container's first process (PID 1), and
needs nothing else of nbfleet. It reads its job from the environment (``NBFLEET_JOB``: the notebooks to run and the
time limits; ``NBFLEET_KEY``: a secret of this run) and removes both; it reads the notebooks to run (the teacher's
tests in them, hidden ones included) from ``/job`` and deletes them there; only then does a kernel start. It copies
the rest of the submission, read-only at ``/in``, into the size-limited ``/work``, runs every notebook there with a
kernel of its own, and prints one line ``NBFLEET-RESULT <hmac> <payload>`` to its standard output (the log).

Why the student's code cannot forge that line: this process makes itself non-dumpable before anything else, so the
kernels it starts (same uid) can neither read its memory, environment or open files (the log) through ``/proc`` nor
trace it; as PID 1 of its namespace it receives no signal it does not handle, and it handles SIGINT and SIGTERM by
doing nothing; the kernels' own standard output and error go to ``/dev/null``; and the payload is signed with a key
only this process knows.

A cell that runs longer than the cell limit is interrupted and the next cell runs; when the notebook's own limit is
reached its remaining cells are not run; a kernel that dies (out of memory, a crash) is noted on the cell that was
running and restarted, and the notebook goes on from the next cell.
"""

import asyncio
import base64
import ctypes
import hashlib
import hmac
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib

PR_SET_DUMPABLE = 4
MAX_OUTPUT = 256 * 1024  # bytes of outputs kept per cell (a print loop must not make a 2 GB result)
MAX_RESTARTS = 3


def _private() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _memory_events() -> int:
    """How many times the sandbox hit its memory limit so far (cgroup v2 or v1; 0 when unknown)."""
    for path, key in (("/sys/fs/cgroup/memory.events", "oom_kill"), ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill")):
        try:
            with open(path) as f:
                for line in f:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    try:
        with open("/sys/fs/cgroup/memory/memory.failcnt") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _kernel_name(metadata) -> str:
    """The notebook's kernel, or the image's kernel for its language (a notebook saved elsewhere may say "python")."""
    from jupyter_client.kernelspec import KernelSpecManager

    spec = metadata.get("kernelspec") or {}
    name = spec.get("name") or "python3"
    installed = KernelSpecManager().find_kernel_specs()
    if name in installed:
        return name
    language = (spec.get("language") or (metadata.get("language_info") or {}).get("name") or "").lower()
    if language == "python" and "python3" in installed:
        return "python3"
    raise RuntimeError(f"the image has no kernel {name!r} (it has: {', '.join(sorted(installed))})")


def _clean_up() -> None:
    """Kill every other process of the sandbox (what the student's code left running) and reap them: as PID 1,
    this process inherits them, and a zombie would keep its place under the process limit."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _trim(cell) -> None:
    size = len(json.dumps(cell.get("outputs", [])))
    if size > MAX_OUTPUT:
        cell["outputs"] = [{"output_type": "stream", "name": "stderr",
                            "text": f"[nbfleet: {size // 1024} KiB of output removed; at most {MAX_OUTPUT // 1024} KiB per cell are kept]\n"}]


async def run_notebook(text: str, folder: str, cell_timeout: float, notebook_timeout: float) -> dict:
    """Execute the notebook ``text`` in ``folder`` (outputs kept in memory); its cells and the grader's notes on them."""
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    class KernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            # the kernel (and whatever it forks) goes first when the sandbox runs out of memory, never this process
            return ["sh", "-c", 'echo 1000 >/proc/self/oom_score_adj; exec "$@"', "kernel",
                    *super().format_kernel_cmd(extra_arguments)]

    class Client(NotebookClient):
        timed_out = False

        async def _async_handle_timeout(self, timeout, cell=None):
            self.timed_out = True
            return await super()._async_handle_timeout(timeout, cell)

    nb = nbformat.reads(text, as_version=4)
    kernel = _kernel_name(nb.metadata)
    notes: dict[int, str] = {}
    client = Client(nb, timeout=cell_timeout, kernel_name=kernel, allow_errors=True, interrupt_on_timeout=True,
                    error_on_timeout={"ename": "Timeout", "evalue": f"the cell ran longer than {cell_timeout:g} s", "traceback": []},
                    startup_timeout=60, kernel_manager_class=KernelManager, shutdown_kernel="immediate",
                    extra_arguments=["--HistoryManager.enabled=False"], resources={"metadata": {"path": folder}}, record_timing=False)
    deadline = time.monotonic() + notebook_timeout
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    restarts = 0
    index = 0
    oom_before = _memory_events()
    while index < len(nb.cells):
        died = False
        async with client.async_setup_kernel(**quiet):
            for index in range(index, len(nb.cells)):  # noqa: B020 - after a kernel died: on from the next cell
                cell = nb.cells[index]
                if cell.cell_type != "code":
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    notes[index] = f"not run: the notebook's time limit ({notebook_timeout:g} s) was reached"
                    continue
                client.timeout = max(1, int(min(cell_timeout, left)))
                client.timed_out = False
                try:
                    await client.async_execute_cell(cell, index)
                except DeadKernelError:
                    oom = _memory_events() > oom_before
                    notes[index] = ("the kernel was killed: the sandbox ran out of memory" if oom
                                    else "the kernel died while running this cell")
                    died = True
                    break
                except Exception as exc:  # noqa: BLE001 - a kernel in a bad state is noted on its cell
                    notes[index] = f"the grader could not run this cell: {type(exc).__name__}: {exc}"
                if client.timed_out:
                    notes[index] = (f"interrupted: ran longer than {cell_timeout:g} s" if client.timeout >= cell_timeout
                                    else f"interrupted: the notebook's time limit ({notebook_timeout:g} s) was reached")
                _trim(cell)
            else:
                index = len(nb.cells)
        if not died:
            break
        _clean_up()  # what the dead kernel left running
        index += 1
        restarts += 1
        if restarts > MAX_RESTARTS:
            for later in range(index, len(nb.cells)):
                if nb.cells[later].cell_type == "code":
                    notes[later] = f"not run: the kernel died {restarts} times"
            break
        oom_before = _memory_events()
    return {"notebook": nb, "notes": {str(k): v for k, v in notes.items()}}


def _ignore(signum, frame) -> None:
    pass  # a handler of our own (not SIG_IGN, which the kernels would inherit): the student's code cannot stop us


def main() -> int:
    """Read the job, run every notebook, print the signed answer (see the module docstring)."""
    _private()
    signal.signal(signal.SIGINT, _ignore)
    signal.signal(signal.SIGTERM, _ignore)
    key = os.environ.pop("NBFLEET_KEY").encode()
    job = json.loads(os.environ.pop("NBFLEET_JOB"))
    texts = {}
    for name in job["notebooks"]:  # read, then gone: no kernel ever sees the teacher's notebooks as files
        path = os.path.join("/job", name)
        with open(path, encoding="utf-8") as f:
            texts[name] = f.read()
        os.unlink(path)
    for entry in os.scandir("/in"):  # /work itself is the tmpfs root: copy into it, not over its own mode
        if entry.is_dir(follow_symlinks=False):
            shutil.copytree(entry.path, os.path.join("/work", entry.name), symlinks=True)
        else:
            shutil.copy2(entry.path, os.path.join("/work", entry.name), follow_symlinks=False)
    os.chdir("/work")
    results = {}
    for name in job["notebooks"]:
        started = time.monotonic()
        try:
            folder = os.path.dirname(os.path.join("/work", name))
            os.makedirs(folder, exist_ok=True)
            out = asyncio.run(run_notebook(texts[name], folder, job["cell_timeout"], job["notebook_timeout"]))
            results[name] = {"notebook": out["notebook"], "notes": out["notes"]}
        except Exception as exc:  # noqa: BLE001 - reported as this notebook's problem, the next one still runs
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
        _clean_up()  # nothing the student started runs on beside the next notebook, or after the result
        results[name]["seconds"] = round(time.monotonic() - started, 3)
    payload = base64.b64encode(zlib.compress(json.dumps(results).encode(), 6)).decode()
    mac = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
    sys.stdout.write(f"\nNBFLEET-RESULT {mac} {payload}\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

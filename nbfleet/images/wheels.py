"""The wheelhouse of one image: its Python packages resolved on the host for the image's own interpreter.

Containers cannot reach PyPI, so builds install from ``build/wheels/<image>/`` with no index. Resolution uses the
interpreter the parent image really has (its version and glibc, recorded when the parent was built): resolving for
the host's Python picks releases that refuse the image's. Packages that ship only an sdist (pyspark) are built into
wheels once on the host. Packages the parent already has are pinned to the parent's versions and left out.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

from ..errors import NbfleetError
from ..fs import write_text

PINNED = "pinned.txt"  # what this image installs, name==version, one a line
ALL_PINS = "all-pins.txt"  # this image's whole Python environment: its children's constraints
HOST_BUILT = "host-built"  # wheels built here from sdists
_NO_MATCH = re.compile(r"(?:No matching distribution found for|Could not find a version that satisfies the requirement) ([^\s(]+)")


def platform_args(python: str, glibc: str, machine: str = "x86_64") -> list[str]:
    """pip's target-interpreter flags for CPython ``python`` (e.g. 3.11.2) on glibc ``glibc`` (e.g. 2.36)."""
    major, minor = (int(x) for x in glibc.split(".")[:2])
    plats = [f"manylinux_{major}_{m}_{machine}" for m in range(minor, 4, -1)]
    plats += [f"manylinux2014_{machine}", f"manylinux2010_{machine}", f"manylinux1_{machine}", f"linux_{machine}"]
    abi = "cp" + "".join(python.split(".")[:2])
    args = ["--python-version", python, "--implementation", "cp", "--abi", abi, "--abi", "abi3", "--abi", "none"]
    for p in plats:
        args += ["--platform", p]
    return args


def normalize(name: str) -> str:
    """PEP 503 normalized project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_pins(folder: Path) -> dict[str, str]:
    """name -> version of the wheels in ``folder`` (and its host-built subfolder)."""
    from packaging.utils import parse_wheel_filename

    pins: dict[str, str] = {}
    for whl in list(folder.glob("*.whl")) + list((folder / HOST_BUILT).glob("*.whl")):
        name, version, _, _ = parse_wheel_filename(whl.name)
        pins[normalize(str(name))] = str(version)
    return pins


def read_pins(path: Path) -> dict[str, str]:
    """Pins of a ``name==version`` file (missing file: none)."""
    pins = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if "==" in line and not line.lstrip().startswith("#"):
                name, version = line.split("==", 1)
                pins[normalize(name.strip())] = version.strip()
    return pins


def resolve(
    out: Path,
    requirements: list[str],
    *,
    python: str,
    glibc: str,
    parent_pins: dict[str, str],
    exclude: set[str] = frozenset(),
    local_projects: list[Path] = (),
    log=print,
) -> dict[str, str]:
    """Fill ``out`` with the wheels this image adds to its parent and write PINNED and ALL_PINS; return the new pins.

    ``local_projects`` are source folders (nbfleet itself) built into wheels on the host.
    """
    out.mkdir(parents=True, exist_ok=True)
    host_built = out / HOST_BUILT
    host_built.mkdir(exist_ok=True)
    exclude = {normalize(e) for e in exclude}
    reqs = [r for r in requirements if r.strip() and not r.strip().startswith("#")]
    for project in local_projects:
        _pip(["wheel", "--no-deps", "-q", "-w", str(host_built), str(project)], f"building {project.name}")
        reqs.append(_project_name(project))
    new: dict[str, str] = {}
    if reqs:
        with tempfile.TemporaryDirectory() as tmp:
            req_file, con_file = Path(tmp, "requirements.txt"), Path(tmp, "constraints.txt")
            req_file.write_text("\n".join(reqs) + "\n")
            con_file.write_text("".join(f"{n}=={v}\n" for n, v in sorted(parent_pins.items())))
            args = ["download", "-q", "--only-binary=:all:", "--find-links", str(host_built), "-d", str(out),
                    "-r", str(req_file), "-c", str(con_file), *platform_args(python, glibc)]
            built: set[str] = set()
            while True:
                result = _pip(args, "resolving", check=False)
                if result.returncode == 0:
                    break
                m = _NO_MATCH.search(result.stderr)
                wanted = m and m.group(1)
                if not wanted or normalize(re.split(r"[<>=!~;\[ ]", wanted)[0]) in built:
                    raise NbfleetError(f"wheels for {out.name}", _last_error(result.stderr))
                # Only an sdist on PyPI (pyspark): build the wheel once here, for any Python (pure packages).
                built.add(normalize(re.split(r"[<>=!~;\[ ]", wanted)[0]))
                pin = [c for c in con_file.read_text().splitlines() if normalize(c.split("==")[0]) == normalize(wanted)]
                log(f"building a wheel from the sdist of {wanted}")
                _pip(["wheel", "--no-deps", "-q", "-w", str(host_built), (pin[0] if pin else _spec(wanted, reqs))],
                     f"building {wanted}")
    # pip download copies wheels it found in host-built/ into out/ and never refreshes them: a stale copy of a
    # rebuilt local project would shadow the new one in the build context. Keep only the host-built one.
    for whl in host_built.glob("*.whl"):
        (out / whl.name).unlink(missing_ok=True)
    present = wheel_pins(out)
    for name, version in present.items():
        if name in parent_pins or name in exclude:
            continue
        new[name] = version
    for whl in list(out.glob("*.whl")) + list(host_built.glob("*.whl")):
        from packaging.utils import parse_wheel_filename

        name = normalize(str(parse_wheel_filename(whl.name)[0]))
        if name not in new or str(parse_wheel_filename(whl.name)[1]) != new[name]:
            whl.unlink()  # the parent has it, it is excluded, or an older version: keep the context small
    # Local projects keep their version while their code changes: the digest makes the image follow the code.
    header = "".join(f"# {_project_name(p)} source {source_digest(p)}\n" for p in local_projects)
    _write(out / PINNED, new, header)
    _write(out / ALL_PINS, {**parent_pins, **new})
    return new


def source_digest(project: Path) -> str:
    """A digest of a local project's pyproject.toml and Python files."""
    h = hashlib.sha256()
    for path in [project / "pyproject.toml", *sorted((project / _package_dir(project)).rglob("*.py"))]:
        h.update(str(path.relative_to(project)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _package_dir(project: Path) -> str:
    return _project_name(project).replace("-", "_")


def _spec(wanted: str, reqs: list[str]) -> str:
    for r in reqs:
        if normalize(re.split(r"[<>=!~;\[ ]", r)[0]) == normalize(re.split(r"[<>=!~;\[ ]", wanted)[0]):
            return r
    return wanted


def _project_name(project: Path) -> str:
    return tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]


def _write(path: Path, pins: dict[str, str], header: str = "") -> None:
    write_text(path, header + "".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))


def _pip(args: list[str], doing: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    result = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, env=env)
    if check and result.returncode != 0:
        raise NbfleetError(f"pip ({doing})", _last_error(result.stderr))
    return result


def _last_error(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    errors = [ln for ln in lines if ln.lower().startswith("error") and "metadata-generation-failed" not in ln
              and "subprocess-exited-with-error" not in ln]
    return (errors or lines or ["pip failed"])[-1]

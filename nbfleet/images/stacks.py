"""The image chain of ``docker-stacks/``: discover parents, order the chain, patch Dockerfiles (pure functions).

A Dockerfile follows jupyter/docker-stacks' conventions: its parent comes through ``ARG BASE_IMAGE=…`` (or, for the
foundation, ``ARG ROOT_IMAGE=…``) and ``FROM $BASE_IMAGE``; the notebook user through ``ARG NB_USER NB_UID NB_GID``.
The 2016 upstream style (``FROM jupyter/base-notebook`` and ``ENV NB_USER datacamp``) is understood too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from .. import paths
from ..errors import NbfleetError

ROOT = "root"  # the name of the debootstrapped root image in the chain
PARENT_ARGS = ("BASE_IMAGE", "ROOT_IMAGE")
USER_KEYS = ("NB_USER", "NB_UID", "NB_GID")

_ARG = re.compile(r"^(\s*ARG\s+)([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$", re.I)
_ENV_OLD = re.compile(r"^(\s*ENV\s+)([A-Za-z_][A-Za-z0-9_]*)\s+(\S.*?)\s*$", re.I)  # ENV NB_USER datacamp
_ENV_KV = re.compile(r"(?<![A-Za-z0-9_])(NB_USER|NB_UID|NB_GID)=(\"[^\"]*\"|'[^']*'|[^\s\\]+)")
_FROM = re.compile(r"^(\s*FROM\s+)(?:--platform=\S+\s+)?(\S+)(.*)$", re.I)


class Stage(NamedTuple):
    """One image of the chain as its Dockerfile declares it."""

    name: str
    dockerfile: Path
    parent: str  # an image of the chain, or ROOT


def image_name(reference: str) -> str:
    """``$REGISTRY/$OWNER/base-notebook:latest`` -> ``base-notebook`` (the last path part, without tag or digest)."""
    ref = reference.strip("\"'").split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def parent_of(text: str, where: str) -> str:
    """The chain name of the parent image a Dockerfile's first FROM refers to."""
    args: dict[str, str] = {}
    for line in _logical_lines(text):
        m = _ARG.match(line)
        if m and m.group(3) is not None:
            args[m.group(2)] = m.group(3).strip("\"'")
            continue
        m = _FROM.match(line)
        if m:
            ref = m.group(2)
            var = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", ref)
            if var:
                name = var.group(1)
                if name == "ROOT_IMAGE":
                    return ROOT
                if name not in args:
                    raise NbfleetError(where, f"FROM ${name} but no ARG {name}=<default parent> before it")
                ref = args[name]
            if "debian" in ref.split(":")[0] or "ubuntu" in ref.split(":")[0]:
                return ROOT
            return image_name(ref)
    raise NbfleetError(where, "no FROM line")


def _logical_lines(text: str) -> list[str]:
    """Dockerfile lines with backslash continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in text.splitlines():
        if not buf and raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            buf += raw.rstrip()[:-1] + " "
            continue
        out.append(buf + raw)
        buf = ""
    if buf:
        out.append(buf)
    return out


def discover(stacks_dir: Path, wanted: tuple[str, ...], settings_file: str = "course.toml") -> list[Stage]:
    """The images named in ``wanted`` with their parents, in build order (parents first).

    Errors: a missing Dockerfile, a parent that is neither built here nor the root image, a cycle.
    """
    stages: dict[str, Stage] = {}
    for name in wanted:
        dockerfile = stacks_dir / name / "Dockerfile"
        where = paths.shown(dockerfile, stacks_dir.parent)
        if not dockerfile.is_file():
            raise NbfleetError(where, f"missing: image {name!r} is listed in {settings_file} images.build")
        stages[name] = Stage(name, dockerfile, parent_of(dockerfile.read_text(encoding="utf-8"), where))
    for stage in stages.values():
        if stage.parent != ROOT and stage.parent not in stages:
            raise NbfleetError(
                f"{settings_file}: images.build",
                f"{stage.name!r} is built FROM {stage.parent!r}, which is not in the chain (add it or fix the Dockerfile)",
            )
    return _ordered(stages, settings_file)


def _ordered(stages: dict[str, Stage], settings_file: str) -> list[Stage]:
    order: list[Stage] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join(path[path.index(name):] + [name])
            raise NbfleetError(paths.shown(stages[name].dockerfile, stages[name].dockerfile.parents[2]), f"cycle in the FROM chain: {cycle}")
        state[name] = "visiting"
        parent = stages[name].parent
        if parent != ROOT:
            visit(parent, path + [name])
        state[name] = "done"
        order.append(stages[name])

    for name in stages:
        visit(name, [])
    return order


def descendants(stages: list[Stage], name: str) -> list[str]:
    """Names of the images built (directly or not) FROM ``name``."""
    out: list[str] = []
    for stage in stages:  # stages are in build order, so parents come first
        if stage.parent == name or stage.parent in out:
            out.append(stage.name)
    return out


def patch(text: str, where: str, *, parent_tag: str, user: str, uid: int, gid: int, needs_user: bool) -> str:
    """Rewire the parent to ``parent_tag`` and set NB_USER/NB_UID/NB_GID to the teacher's values.

    Handles the ARG style (``ARG NB_UID="1000"``) and the old ENV styles (``ENV NB_UID 17685226`` and
    ``ENV NB_UID=1000``). When ``needs_user`` (the image built on the root image) and a setting is absent,
    that is an error naming the file.
    """
    values = {"NB_USER": user, "NB_UID": str(uid), "NB_GID": str(gid)}
    found: set[str] = set()
    parent_done = continuing = in_env = False
    out: list[str] = []

    def _set(mm: re.Match) -> str:
        found.add(mm.group(1))
        return f'{mm.group(1)}="{values[mm.group(1)]}"'

    for line in text.splitlines(keepends=True):
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        was_continuing = continuing
        m = _ARG.match(body) if not was_continuing else None
        if m and m.group(2) in PARENT_ARGS and not parent_done:
            out.append(f"{m.group(1)}{m.group(2)}={parent_tag}{nl}")
            continue
        if m and m.group(2) in USER_KEYS:
            found.add(m.group(2))
            out.append(f'{m.group(1)}{m.group(2)}="{values[m.group(2)]}"{nl}')
            continue
        m = _ENV_OLD.match(body) if not was_continuing else None
        if m and m.group(2) in USER_KEYS and "=" not in m.group(2) and not m.group(3).startswith("="):
            found.add(m.group(2))
            out.append(f"{m.group(1)}{m.group(2)} {values[m.group(2)]}{nl}")
            continue
        if not was_continuing:
            in_env = bool(re.match(r"^\s*ENV\s", body, re.I))
        continuing = body.rstrip().endswith("\\")
        if in_env:
            # ENV NB_USER=x (also on continuation lines): literal values are replaced, ${NB_USER} references stay.
            body = _ENV_KV.sub(lambda mm: mm.group(0) if mm.group(2).lstrip("\"'").startswith("$") else _set(mm), body)
        fm = _FROM.match(body)
        if fm and not parent_done:
            parent_done = True
            ref = fm.group(2)
            if not ref.startswith("$"):  # a literal parent (old style): rewire it
                body = f"{fm.group(1)}{parent_tag}{fm.group(3)}"
        out.append(body + nl)
    if needs_user:
        missing = [k for k in USER_KEYS if k not in found]
        if missing:
            raise NbfleetError(where, f"no {'/'.join(missing)} setting (expected ARG {missing[0]}=… or ENV {missing[0]} …)")
    return "".join(out)


"""What runs inside containers imports only the standard library and what the course image ships: checked on the
source (every import, inside functions too) and in the real course image (the folder helper's bundle loads alone)."""

from __future__ import annotations

import ast
import io
import sys
from pathlib import Path

import pytest

from nbfleet.assignments.helper import SHIPPED, bundle
from support.courses import read_record
from support.repo import REPO

PACKAGE = REPO / "nbfleet"
INSIDE = sorted(p for p in (PACKAGE / "inside").glob("*.py"))
IMAGE_PACKAGES = {"nbformat", "nbclient", "jupyter_client"}  # the course image's Jupyter, which the grade runner drives


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, anywhere in it (relative imports made absolute)."""
    package = ".".join(path.relative_to(REPO).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}".rstrip(".")
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names if (REPO / f"{base}.{a.name}".replace(".", "/")).exists()
                       or (REPO / (f"{base}.{a.name}".replace(".", "/") + ".py")).exists())
    return out


def source(module: str) -> Path | None:
    """The file of one of nbfleet's modules (None for anything else)."""
    base = REPO / module.replace(".", "/")
    return base / "__init__.py" if (base / "__init__.py").exists() else base.with_suffix(".py") if base.with_suffix(".py").exists() else None


def closure(path: Path) -> set[Path]:
    """``path`` and every nbfleet module it imports, directly or not, with the packages that hold them."""
    module = ".".join(path.relative_to(REPO).with_suffix("").parts)
    seen, todo = set(), [path, *(source(".".join(module.split(".")[:i])) for i in range(1, module.count(".") + 1))]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        for module in imports(p):
            parts = module.split(".")
            if parts[0] != "nbfleet":
                continue
            for i in range(1, len(parts) + 1):
                found = source(".".join(parts[:i]))
                if found and found not in seen:
                    todo.append(found)
    return seen


def test_the_folder_helper_ships_exactly_the_modules_it_imports():
    needed = {p.relative_to(PACKAGE).as_posix() for p in closure(PACKAGE / "inside" / "folder_helper.py")}
    assert needed == set(SHIPPED)


@pytest.mark.parametrize("path", [*INSIDE, *(PACKAGE / name for name in SHIPPED)], ids=lambda p: p.relative_to(REPO).as_posix())
def test_a_module_that_runs_inside_containers_imports_only_the_standard_library_and_the_image(path):
    allowed = set(sys.stdlib_module_names) | ({"nbfleet"} if path.name != "grade_runner.py" else IMAGE_PACKAGES)
    outside = sorted(m for m in imports(path) if m.split(".")[0] not in allowed)
    assert outside == []
    shipped = {f"nbfleet/{name}" for name in SHIPPED}
    strays = sorted(str(p.relative_to(REPO)) for m in imports(path) if (p := source(m)) and p.relative_to(REPO).as_posix() not in shipped)
    assert strays == []  # an nbfleet module the helper does not ship would not be there


@pytest.mark.docker
@pytest.mark.slow
def test_in_the_course_image_the_shipped_bundle_loads_alone_and_the_runner_finds_its_packages(docker_client, course_images):
    image = read_record(course_images, "course-notebook")["id"]
    check = ("import sys; sys.path.insert(0, '/job/lib'); before = set(sys.modules)\n"
             "import nbfleet.inside.folder_helper, nbfleet\n"
             "assert nbfleet.__file__.startswith('/job/lib/'), nbfleet.__file__\n"
             "new = {m.split('.')[0] for m in set(sys.modules) - before}\n"
             "print(sorted(m for m in new if m not in sys.stdlib_module_names and m != 'nbfleet'))\n"
             "import nbformat, nbclient, jupyter_client.manager; print('runner ok')\n")
    container = docker_client.containers.create(image, ["python3", "-c", check], entrypoint=[], user="0:0",
                                                network_disabled=True)
    try:
        tar = io.BytesIO()
        bundle(tar, {"do": "look"}, {})
        container.put_archive("/", tar.getvalue())
        container.start()
        assert container.wait(timeout=120)["StatusCode"] == 0, container.logs().decode()
        assert container.logs(stderr=False).decode().split("\n")[:2] == ["[]", "runner ok"]
    finally:
        container.remove(force=True)

"""The course's one settings file, ``course.toml``: read, validated, and handed to every stage as frozen objects.

In: ``course.toml`` (every key optional). Out: a ``Settings`` with one object per section and every path absolute;
or one line naming the file and the key at fault (``course.toml: teacher.uid: …``).
"""

from .course_toml import HOST_NAME, load, parse
from .sections import (
    ROOT_FALLBACK,
    Base,
    Collect,
    Course,
    Grade,
    Images,
    Launch,
    Mail,
    Release,
    RosterOptions,
    Session,
    Settings,
    Swarm,
    Teacher,
    Workshop,
)
from .table import parse_memory

__all__ = ["HOST_NAME", "ROOT_FALLBACK", "Base", "Collect", "Course", "Grade", "Images", "Launch", "Mail", "Release",
           "RosterOptions", "Session", "Settings", "Swarm", "Teacher", "Workshop", "load", "parse", "parse_memory"]

"""pytest's entry: the shared support package's fixtures, loaded as plugins (tests never import this file)."""

pytest_plugins = ["support.engines", "support.courses", "support.grading"]

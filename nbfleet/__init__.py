"""nbfleet: run Jupyter for a whole class on a handful of lab servers, from one course repository and doit."""

__version__ = "0.1.0"

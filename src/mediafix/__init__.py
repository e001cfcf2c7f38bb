"""mediafix: a clean, correctly dated, de-duplicated archive from a family's photos and videos."""

__version__ = "0.1.0"

"""alertbot engine: everything that does not know a chat platform exists."""

__version__ = "0.1.0"

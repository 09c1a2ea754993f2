"""The redisops version (a leaf module, so any layer can import it)."""

__version__ = "0.1.0"

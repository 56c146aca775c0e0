"""supportly-bridge: the Supportly model, its native API, legacy compatibility surfaces and migrations."""

__version__ = "0.1.0"

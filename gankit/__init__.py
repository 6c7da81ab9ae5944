"""gankit: train, evaluate, diagnose and serve GANs.

The package is laid out as the pipeline: ``data`` -> ``models`` -> ``losses`` -> ``train``
-> ``metrics``; ``config`` holds the typed recipe schema and ``cli`` the command line.
"""

__version__ = "0.1.0"

"""Gateway tests. A package with its own name: with ``--import-mode=importlib`` a plain
``gateway/tests`` folder would be imported as ``gateway.tests`` and shadow the real
``gateway`` package."""

"""The ``hashmatch`` command line."""

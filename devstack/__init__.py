"""Local stack for development, demos and tests: installs and runs the real services on loopback.

Production runs the same services from docker-compose.yml; this package exists because the
development and CI machines have no Docker engine.
"""

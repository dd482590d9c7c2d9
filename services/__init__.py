"""The process's service container: every client and long-lived service built once from
Settings, for the command line, the Celery worker and the web app alike."""

from services.container import Services

__all__ = ["Services"]

"""Celery adapters: the app, thin tasks that take ids, the relay and the beat schedule."""

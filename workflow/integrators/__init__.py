"""Integrators: the systems gridcase does not own that file and follow cases (a hotline, a city app).

Tables: ``integrators`` (one API key each: only its SHA-256 kept, its scopes, rate, CloudEvent
``source`` and optional webhook) and ``integrator_requests`` (each case a key filed, with what
an Open311 request carries beyond the case: place, contact, media, attribute answers, token).
Modules: ``models``, ``keys`` (add, list, revoke, authenticate), ``catalogue`` (the Open311
services and their attributes as data), ``filing`` (a request becomes a CloudEvent through
``cases.intake``, idempotent per key and content), ``reading`` (requests as the public sees
them, masked as the tracking view is).

Sits above ``cases`` (it files through intake and reads the cases' public side) and below
``notices`` (delivery reads a key's webhook to send it the steps of the cases it filed). Uses
``cases``, ``clock``, ``org`` and ``base``.
"""

"""The org tree: units (street down to household), staff members, their roles, passwords and API tokens.

Tables: ``units``, ``users``, ``api_tokens`` (``models``). Modules: ``tree`` (reading an org
file, walking a case's ladder), ``members`` (members, passwords, tokens), ``admin`` (what the
administrator's pages change). Uses ``base`` only.
"""

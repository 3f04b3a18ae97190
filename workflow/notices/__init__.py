"""Notices: turning outbox rows into deliveries and sending them on their channels.

Tables: ``subscriptions``, ``deliveries`` (``models``). Modules: ``delivery`` (recipients, sends,
retries), ``subscriptions`` and ``subscription_admin``, ``templates`` (texts in three languages),
``ratelimit`` (robots' limits), ``channels/`` (one module a channel), ``relay`` (rows whose
broker message may be lost), ``listing`` (a case's notices as its page shows them), ``org_file``
(importing an org file with the subscriptions it declares). Uses ``cases`` (reads the outbox
and the case a notice is about), ``clock``, ``org`` and ``base``.
"""

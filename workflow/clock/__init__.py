"""The clock: deadline policies, the working-day calendar, deadline rows and the sweeper's claims.

Tables: ``policies``, ``deadlines``, ``heartbeats`` (``models``). Modules: ``policy`` (the policy
file), ``calendar`` (working days and hours), ``stored_policies`` (the policy a clock started
under), ``deadlines`` (rows, and time counted as a policy counts it), ``sweeper`` (claiming due
rows, heartbeats), ``policy_in_force`` (the administrator's view). What a deadline *means* for
a case is the cases package's (``cases.deadlines``, ``cases.overdue``). Uses ``org`` and ``base``.
"""

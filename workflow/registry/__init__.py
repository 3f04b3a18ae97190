"""Who lives where: the address, household and party-member registers, their import and export, address lookup.

Tables: ``registry_buildings``, ``registry_addresses``, ``registry_households``, ``registry_residents``,
``registry_party_members``, ``registry_care``, ``registry_steps`` (``models``). Modules: ``idnumber``
(GB 11643 checksums), ``tags`` (the tags a community uses, from ``data/tags.yaml``), ``register``
(changes as logged steps, reading masked per role), ``addresses`` (matching free-text addresses),
``ledger`` (the 台账 columns, their Chinese headers and aliases), ``importer`` / ``exporter`` (XLSX and
CSV), ``demo`` (a small register for the demo tree). Uses ``org`` and ``base`` only.

Why registry sits beside ``notices``, above ``cases``, and not below it: routing a complaint by
address needs a lookup before intake, and later parts of this capability (a patrol visit that
becomes a case, a 爱心呼叫 call) create cases. If ``cases`` imported the registry, those parts
could not call ``cases`` without a cycle. So ``cases`` stays unaware of addresses: the web layer
resolves an address or a household id to a grid code with ``addresses.resolve`` and hands intake
an ordinary event with ``grid`` filled in.

Residents' names, phones and ID numbers, and party members' phones, are encrypted at rest
(``workflow/base/vault.py``); phones and ID numbers keep blind indexes (``phone_index``,
``id_number_index``) for finding a household by phone and refusing one person twice.
"""

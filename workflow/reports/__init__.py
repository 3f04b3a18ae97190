"""Residents reporting for themselves: the public form, the service centre's touch screen, service cards.

Tables: ``report_phone_codes`` (the six-digit codes sent to check a phone: only hashes of the phone
and the code, their time, tries; nothing else of the resident is kept before the phone is confirmed),
``resident_reports`` (each case a resident opened, by the hash of the confirmed phone, category and
place: what the daily cap and the duplicate offer count) and ``kiosk_keys`` (the touch screens'
revocable keys). Modules: ``models``, ``codes`` (send and check a code), ``places`` (compounds and
buildings from the register, or the org tree where there is no register), ``limits`` (the daily cap
and the duplicate offer), ``filing`` (a report becomes a case through ``cases.intake``, or a note on the
resident's existing case), ``kiosk`` (keys), ``cards`` (the service cards' PDF).

Sits above ``notices`` and ``registry`` (it sends codes through the SMS sender and reads the
register's buildings) and files through ``cases``; nothing below imports it.
"""

"""The JSON API: CloudEvents intake, cases and their actions, tracking, units, health, the OpenAPI document."""

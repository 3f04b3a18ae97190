"""The gridcase domain: org tree, cases, the state machine and the services that move them."""

"""The coordinators' side: the hand-off state machine (handoff.py, no Telegram types), its
handlers in the coordinators' Telegram group (group_handlers.py), the texts they read, and the
escalation log's report for the command line."""

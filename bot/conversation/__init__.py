"""One message's way through the front-end process, for Telegram and the terminal alike: the
safety screen first, then commands, then Rasa (assistant.py); crisis replies and the records the
coordinators need (crisis.py, outbox.py); the reply types (replies.py); the Rasa client; and the
interfaces the front end and the coordinators' side meet through (ports.py)."""

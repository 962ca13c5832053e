"""Used by all three processes (front end, Rasa plug-ins, action server); imports neither
python-telegram-bot nor Rasa: languages, translations, pseudonyms, the organisation's facts and
help lines, office hours, language recognition, the safety screen, and the payload contract
between the actions and the front end (protocol.py)."""

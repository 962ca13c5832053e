"""The database: engine and migrations (db.py), tables (models.py), and one module per kind of
record (users, escalations, bookings) plus retention and erasure (privacy.py). Imports only the core."""

//! Durable job queue: SQLite by default, PostgreSQL for several workers.

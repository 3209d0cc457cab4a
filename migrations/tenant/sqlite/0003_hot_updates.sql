-- PostgreSQL only (fillfactor for HOT updates); nothing to do on SQLite.
SELECT 1;

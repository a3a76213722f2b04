"""Subscribers outside the database: the CSV formats read and written by import and export."""

"""The Streamlit dashboard: an entry file, one page per job, no business logic in pages."""

"""Dashboard pages, one per job; each only wires data to widgets."""

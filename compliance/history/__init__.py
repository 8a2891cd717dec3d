"""History: the SQLite store, the team roster, who made a call and when, readiness, daily KPI, phrasings."""

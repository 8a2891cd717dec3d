"""Writing analysed calls to a CRM (Pipedrive): the HTTP client, finding a call's deal or person, the note's
content, and the push that keeps track of what was written."""

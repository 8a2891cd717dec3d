"""Where recordings come from besides a folder the lead fills by hand: cloud PBX APIs (``compliance fetch``),
their call-completed webhooks, and a folder a PBX drops files into (``compliance watch``).

``model`` is the PBX call as every source reads it; ``credentials`` the API keys (environment or a 0600 file);
``http`` the one request loop and the atomic download; ``binotel`` and ``zadarma`` the vendors; ``fetch`` the
resumable fetch into the recordings root; ``watch`` the folder watcher.
"""

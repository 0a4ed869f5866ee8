"""A module that starts a thread when it is imported: a process that imported it is no
longer safe to fork."""

import threading

_stop = threading.Event()
threading.Thread(target=_stop.wait, name="started-at-import", daemon=True).start()

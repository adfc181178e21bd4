# boxplay: start in the working directory asked for. WASI has no working directory, and
# wasi-libc starts every program in "/"; boxplay's wasi runtime passes the one asked for
# (`-w`, the image's WorkingDir) as PWD. `site` imports this module at start-up.
import os as _os

_pwd = _os.environ.get('PWD')
if _pwd and _pwd.startswith('/'):
    try:
        _os.chdir(_pwd)
    except OSError:
        pass  # a missing directory leaves "/", as for the C programs (images/wasi-cwd)
del _os, _pwd

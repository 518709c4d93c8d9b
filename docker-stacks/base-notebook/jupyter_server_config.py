# Settings of every classroom server. Anything per student (the password hash, TLS files) is given by
# nbfleet on the command line: `start-notebook --PasswordIdentityProvider.hashed_password=argon2:...`.
import os

c = get_config()  # noqa: F821 - provided by traitlets when the file is loaded

c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.port_retries = 0
c.ServerApp.open_browser = False
# The server shows the container's working folder: ~/work for a student (their own folder, the only one
# that survives a recreate), the course folder for an admin. nbfleet sets it with the container's working_dir.
c.ServerApp.root_dir = os.getcwd()
c.ServerApp.default_url = "/lab"
c.ServerApp.quit_button = False
c.ServerApp.allow_remote_access = True

# Password login only; no changing it from the browser (the roster is the source of truth).
c.PasswordIdentityProvider.allow_password_change = False
c.PasswordIdentityProvider.password_required = True

# A classroom of 300 must not call home: no news, no update checks, no extension manager downloads.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabServerApp.extension_manager = "readonly"

# Start fast: the language-server extension costs start time and nobody in class configured a server for it.
c.ServerApp.jpserver_extensions = {"jupyter_lsp": False}

if os.path.exists("/etc/nbfleet/tls/cert.pem"):
    c.ServerApp.certfile = "/etc/nbfleet/tls/cert.pem"
    c.ServerApp.keyfile = "/etc/nbfleet/tls/key.pem"

"""Start, stop and populate a loopback-only Synapse (see scripts/homeserver)."""

import argparse
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

CONFIG = """\
server_name: localhost
public_baseurl: http://127.0.0.1:{port}/
pid_file: {dir}/homeserver.pid
listeners:
  - port: {port}
    bind_addresses: ['127.0.0.1']
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: {dir}/homeserver.db
media_store_path: {dir}/media
signing_key_path: {dir}/signing.key
log_config: {dir}/log.yaml
registration_shared_secret: "{secret}"
macaroon_secret_key: "{macaroon}"
form_secret: "{form}"
enable_registration: {registration}
report_stats: false
enable_metrics: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_domain_whitelist: []
url_preview_enabled: {previews}
presence:
  enabled: {presence}
bcrypt_rounds: 4
login_via_existing_session:
  enabled: {login_token}
  require_ui_auth: true
  token_timeout: "{lifetime}"
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_admin_redaction: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
max_upload_size: {max_upload}
{extra}"""

# `--conformance`: everything a normal user can call, switched on, and the
# limits that a suite of ~150 operations on one server would hit raised.
CONFORMANCE = """\
enable_registration_without_verification: true
serve_client_wellknown: true
user_directory:
  enabled: true
  search_all_users: true
turn_uris: ["turn:127.0.0.1:3478?transport=udp"]
turn_shared_secret: "{turn}"
turn_user_lifetime: 1h
# The legacy /_matrix/media/v3 download, thumbnail and config endpoints
# serve media only with authenticated media off.
enable_authenticated_media: false
# GET/POST /publicRooms take no access token in the spec.
allow_public_rooms_without_auth: true
room_list_publication_rules: [{{action: allow}}]
alias_creation_rules: [{{action: allow}}]
rc_joins_per_room: {{per_second: 1000, burst_count: 1000}}
rc_key_requests: {{per_second: 1000, burst_count: 1000}}
rc_3pid_validation: {{per_second: 1000, burst_count: 1000}}
rc_invites:
  per_room: {{per_second: 1000, burst_count: 1000}}
  per_user: {{per_second: 1000, burst_count: 1000}}
  per_issuer: {{per_second: 1000, burst_count: 1000}}
rc_media_create: {{per_second: 1000, burst_count: 1000}}
rc_presence:
  per_user: {{per_second: 1000, burst_count: 1000}}
rc_room_creation: {{per_second: 1000, burst_count: 1000}}
rc_reports: {{per_second: 1000, burst_count: 1000}}
rc_user_directory: {{per_second: 1000, burst_count: 1000}}
rc_profile: {{per_second: 1000, burst_count: 1000}}
rc_registration_token_validity: {{per_second: 1000, burst_count: 1000}}
app_service_config_files: ["{dir}/appservice.yaml"]
# URL previews of pages the suite serves itself on 127.0.0.1: every
# private and loopback range stays refused except that one address.
url_preview_ip_range_blacklist:
  - "127.0.0.0/8"
  - "10.0.0.0/8"
  - "172.16.0.0/12"
  - "192.168.0.0/16"
  - "100.64.0.0/10"
  - "169.254.0.0/16"
  - "::1/128"
  - "fe80::/10"
  - "fc00::/7"
url_preview_ip_range_whitelist: ["127.0.0.1"]
"""

# The application service `--conformance` registers: a stub bridge of an
# "irc" protocol (see `appservice` below), so the operations that only an
# application service can call, or that Synapse answers from one, work.
APPSERVICE = """\
id: conformance-bridge
url: http://127.0.0.1:{port}
as_token: "{as_token}"
hs_token: "{hs_token}"
sender_localpart: bridgebot
rate_limited: false
protocols: ["irc"]
namespaces:
  users: [{{exclusive: true, regex: "@irc_.*:localhost"}}]
  aliases: [{{exclusive: false, regex: "#irc_.*:localhost"}}]
  rooms: []
"""

IRC_PROTOCOL = {
    "user_fields": ["network", "nickname"],
    "location_fields": ["network", "channel"],
    "icon": "mxc://localhost/irc",
    "field_types": {
        "network": {"regexp": "([a-z0-9]+\\.)*[a-z0-9]+", "placeholder": "irc.example.org"},
        "nickname": {"regexp": "[^\\s#]+", "placeholder": "username"},
        "channel": {"regexp": "#[^\\s]+", "placeholder": "#channel"},
    },
    "instances": [{"desc": "Example IRC", "icon": "mxc://localhost/irc", "network_id": "example",
                   "fields": {"network": "irc.example.org"}}],
}
IRC_LOCATION = {"alias": "#irc_#matrix:localhost", "protocol": "irc",
                "fields": {"network": "irc.example.org", "channel": "#matrix"}}
IRC_USER = {"userid": "@irc_someone:localhost", "protocol": "irc",
            "fields": {"network": "irc.example.org", "nickname": "someone"}}

# `--sso`: two identity providers on the one OpenID Connect provider that
# scripts/oidc_provider.mjs runs on 127.0.0.1 (plain http, so Synapse's
# https check is skipped), and loopback redirect URLs allowed without
# Synapse's confirmation page.
SSO = """\
oidc_providers:
  - idp_id: test
    idp_name: "Test OIDC"
    issuer: "http://127.0.0.1:{oidc_port}"
    client_id: synapse
    client_secret: "{oidc_secret}"
    scopes: ["openid", "profile"]
    skip_verification: true
    user_mapping_provider:
      config:
        localpart_template: "{{{{ user.sub }}}}"
        display_name_template: "{{{{ user.name }}}}"
  - idp_id: other
    idp_name: "Other OIDC"
    issuer: "http://127.0.0.1:{oidc_port}"
    client_id: synapse
    client_secret: "{oidc_secret}"
    scopes: ["openid", "profile"]
    skip_verification: true
    user_mapping_provider:
      config:
        localpart_template: "{{{{ user.sub }}}}"
sso:
  client_whitelist: ["http://127.0.0.1:"]
"""

LOG_CONFIG = """\
version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(levelname)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {dir}/homeserver.log
loggers:
  synapse.access.http:
    level: INFO
root:
  level: WARNING
  handlers: [file]
disable_existing_loggers: false
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, deadline):
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/_matrix/client/versions", timeout=2) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.1)
    return False


def start(args):
    d = os.path.abspath(args.dir)
    os.makedirs(os.path.join(d, "media"), exist_ok=True)
    port = free_port()
    sso = ""
    if args.sso:
        oidc_port, oidc_secret = free_port(), secrets.token_hex(16)
        sso = SSO.format(oidc_port=oidc_port, oidc_secret=oidc_secret)
        start_oidc_provider(d, oidc_port, oidc_secret,
                            "http://127.0.0.1:%d/_synapse/client/oidc/callback" % port)
    with open(os.path.join(d, "homeserver.yaml"), "w") as f:
        f.write(CONFIG.format(
            port=port, dir=d, secret=secrets.token_hex(16), macaroon=secrets.token_hex(16),
            form=secrets.token_hex(16), login_token="false" if args.no_login_token else "true",
            lifetime=args.token_lifetime, max_upload=args.max_upload_size,
            registration="true" if args.conformance else "false",
            presence="true" if args.conformance else "false",
            previews="true" if args.conformance else "false",
            extra=(CONFORMANCE.format(turn=secrets.token_hex(16), dir=d) if args.conformance else "")
            + ("refreshable_access_token_lifetime: %s\nnonrefreshable_access_token_lifetime: %s\n"
               % (args.refreshable_lifetime, args.refreshable_lifetime)
               if args.refreshable_lifetime else "") + sso))
    if args.conformance:
        as_port = free_port()
        with open(os.path.join(d, "appservice.yaml"), "w") as f:
            f.write(APPSERVICE.format(port=as_port, as_token=secrets.token_hex(16),
                                      hs_token=secrets.token_hex(16)))
        stub = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "appservice", str(as_port),
             "--watch-pid", str(args.watch_pid or 0)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        with open(os.path.join(d, "appservice.pid"), "w") as f:
            f.write(str(stub.pid))
    with open(os.path.join(d, "log.yaml"), "w") as f:
        f.write(LOG_CONFIG.format(dir=d))
    key = os.path.join(d, "signing.key")
    if not os.path.exists(key):
        subprocess.run([os.path.join(os.path.dirname(sys.executable), "generate_signing_key"), "-o", key], check=True)
    out = open(os.path.join(d, "stdout.log"), "ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "synapse.app.homeserver", "-c", os.path.join(d, "homeserver.yaml")],
        stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    with open(os.path.join(d, "pid"), "w") as f:
        f.write(str(proc.pid))
    url = "http://127.0.0.1:%d" % port
    if not wait_ready(url, proc, time.monotonic() + args.wait):
        stop_pid(proc.pid)
        stop_helpers(d)
        tail = open(os.path.join(d, "stdout.log"), errors="replace").read()[-3000:]
        sys.exit("homeserver: Synapse did not answer /versions within %ds\n%s" % (args.wait, tail))
    with open(os.path.join(d, "url"), "w") as f:
        f.write(url)
    if args.watch_pid:
        # A detached watchdog: when the test process is gone, so is Synapse.
        subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "watch", str(args.watch_pid), str(proc.pid),
             d],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
    print("url=%s" % url)
    print("dir=%s" % d)
    print("pid=%d" % proc.pid)
    sys.stdout.flush()


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def stop_pid(pid, grace=10.0):
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        try:
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            if not alive(pid):
                return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def watch(args):
    while alive(args.watched):
        time.sleep(0.5)
    stop_pid(args.server)
    if args.dir:
        stop_helpers(args.dir)


def stop(args):
    d = os.path.abspath(args.dir)
    with open(os.path.join(d, "pid")) as f:
        stop_pid(int(f.read().strip()))
    stop_helpers(d)


def stop_helpers(d):
    """The stub bridge and the OpenID Connect provider, where started."""
    for name in ("appservice.pid", "oidc.pid"):
        path = os.path.join(d, name)
        if os.path.exists(path):
            with open(path) as f:
                stop_pid(int(f.read().strip()), grace=2.0)


def start_oidc_provider(d, port, secret, redirect_uri):
    """scripts/oidc_provider.mjs on PORT, its node_modules from
    OIDC_PROVIDER_MODULES (scripts/homeserver installs them); waits until
    it says `ready`."""
    modules = os.environ.get("OIDC_PROVIDER_MODULES", "")
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oidc_provider.mjs")
    log_path = os.path.join(d, "oidc.log")
    log = open(log_path, "ab")
    # Its output goes to the log (a pipe left unread would break it).
    proc = subprocess.Popen(
        ["node", script, str(port), "synapse", secret, redirect_uri],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env=dict(os.environ, OIDC_PROVIDER_MODULES=modules))
    with open(os.path.join(d, "oidc.pid"), "w") as f:
        f.write(str(proc.pid))
    deadline = time.monotonic() + 30
    while b"ready" not in open(log_path, "rb").read():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_pid(proc.pid)
            tail = open(log_path, errors="replace").read()[-2000:]
            sys.exit("homeserver: the OpenID Connect provider did not start\n%s" % tail)
        time.sleep(0.05)


def appservice(args):
    """The stub bridge: answers Synapse's application-service requests."""
    import http.server
    import threading
    import urllib.parse

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            path = urllib.parse.urlparse(self.path).path
            body = {}
            if path == "/_matrix/app/v1/thirdparty/protocol/irc":
                body = IRC_PROTOCOL
            elif path.startswith("/_matrix/app/v1/thirdparty/location"):
                body = [IRC_LOCATION]
            elif path.startswith("/_matrix/app/v1/thirdparty/user"):
                body = [IRC_USER]
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.watch_pid:
        def watchdog():
            while alive(args.watch_pid):
                time.sleep(0.5)
            os._exit(0)
        threading.Thread(target=watchdog, daemon=True).start()
    server.serve_forever()


def register(args):
    d = os.path.abspath(args.dir)
    url = open(os.path.join(d, "url")).read().strip()
    secret = None
    for line in open(os.path.join(d, "homeserver.yaml")):
        if line.startswith("registration_shared_secret:"):
            secret = line.split(":", 1)[1].strip().strip('"')
    endpoint = url + "/_synapse/admin/v1/register"
    with urllib.request.urlopen(endpoint, timeout=10) as r:
        nonce = json.load(r)["nonce"]
    mac = hmac.new(secret.encode(), digestmod=hashlib.sha1)
    mac.update(b"\x00".join([nonce.encode(), args.user.encode(), args.password.encode(),
                             b"admin" if args.admin else b"notadmin"]))
    body = json.dumps({"nonce": nonce, "username": args.user, "password": args.password,
                       "admin": args.admin, "mac": mac.hexdigest()}).encode()
    req = urllib.request.Request(endpoint, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            print(r.read().decode())
    except urllib.error.HTTPError as e:
        sys.exit("homeserver: registering %s failed: %d %s" % (args.user, e.code, e.read().decode()))


def main():
    p = argparse.ArgumentParser(prog="scripts/homeserver")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("start")
    s.add_argument("dir")
    s.add_argument("--token-lifetime", default="5m")
    s.add_argument("--no-login-token", action="store_true")
    s.add_argument("--conformance", action="store_true",
                   help="open registration, presence, user directory, TURN, legacy media, higher limits")
    s.add_argument("--max-upload-size", default="50M",
                   help="Synapse's max_upload_size (its m.upload.size), e.g. 1M")
    s.add_argument("--refreshable-lifetime",
                   help="how long access tokens issued at login live, e.g. 3s (Synapse's "
                        "refreshable_access_token_lifetime, default 5m, and "
                        "nonrefreshable_access_token_lifetime, default unlimited)")
    s.add_argument("--watch-pid", type=int)
    s.add_argument("--wait", type=int, default=60)
    s.add_argument("--sso", action="store_true",
                   help="OpenID Connect sign-in through scripts/oidc_provider.mjs")
    s.set_defaults(func=start)
    s = sub.add_parser("stop")
    s.add_argument("dir")
    s.set_defaults(func=stop)
    s = sub.add_parser("register")
    s.add_argument("dir")
    s.add_argument("user")
    s.add_argument("password")
    s.add_argument("--admin", action="store_true")
    s.set_defaults(func=register)
    s = sub.add_parser("appservice")
    s.add_argument("port", type=int)
    s.add_argument("--watch-pid", type=int, default=0)
    s.set_defaults(func=appservice)
    s = sub.add_parser("watch")
    s.add_argument("watched", type=int)
    s.add_argument("server", type=int)
    s.add_argument("dir", nargs="?", help="also stop the helpers started in DIR")
    s.set_defaults(func=watch)
    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()

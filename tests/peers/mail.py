"""Real mail servers on 127.0.0.1 for tests: Dovecot (IMAP + LMTP) holding the mailboxes and
Postfix (SMTP on a free loopback port) delivering into them over LMTP.

Why this shape (from the captured runs in shared/payloads/mail): Dovecot refuses mail access
for UID 0, so as root it runs "rootless" as the ``dovecot`` user (no chroot anywhere); Postfix
needs root for its master and runs its own instance (``postfix -c DIR``) with every queue file
under the run directory and nothing in /etc changed. The run directory lives in /tmp (not
pytest's 0700 tmp_path, which the ``dovecot``/``postfix`` users cannot reach) and is kept
short (unix socket paths are limited to 107 bytes). Daemons get /dev/null and log files, never
the caller's pipes.

``MailServers.stop_smtp()`` / ``start_smtp()`` take Postfix down and up again, for outage tests.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import os
import pwd
import shutil
import smtplib
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from ._proc import PeerError, require_binary
from .ports import free_tcp_port, port_is_listening

PASSWORD = "secret"
SUPPORT = "support@helpdesk.test"
DEFAULT_USERS = (
    SUPPORT,
    "alice@example.test",
    "ola@example.test",
    "carol@example.test",
    "bob@example.test",
    "dave@example.test",
)

_DOVECOT_CONF = """\
protocols = imap lmtp
listen = 127.0.0.1
instance_name = slabridge-mail-{imap}
base_dir = {run}/dovecot/run
state_dir = {run}/dovecot/state
hostname = mail.example.test
postmaster_address = postmaster@example.test
log_path = {run}/log/dovecot.log
info_log_path = {run}/log/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {run}/dovecot/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {run}/dovecot/users
  default_fields = uid={uid} gid={gid} home={run}/mail/%d/%n
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service imap-urlauth-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp}
  }}
}}
recipient_delimiter = +
"""

_POSTFIX_MAIN = """\
compatibility_level = 3.6
queue_directory = {run}/postfix/spool
data_directory = {run}/postfix/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = $mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery is disabled in this test instance
relay_domains = example.test, helpdesk.test
relay_recipient_maps =
recipient_delimiter = +
transport_maps = inline:{{ example.test=lmtp:inet:127.0.0.1:{lmtp}, \
helpdesk.test=lmtp:inet:127.0.0.1:{lmtp} }}
default_transport = error:5.1.2 only example.test and helpdesk.test exist in this test instance
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access \
inline:{{ {{ reject.test = 550 5.1.1 this domain refuses mail in tests }} }}, \
permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtp_tls_security_level = none
smtpd_tls_security_level = none
maillog_file = {run}/log/postfix.log
maillog_file_prefixes = {run}/log
smtpd_banner = $myhostname ESMTP
biff = no
smtputf8_enable = yes
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
"""

_POSTFIX_MASTER = """\
127.0.0.1:{smtp} inet n -  n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


def _wait_port(port: int, what: str, log: Path, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not port_is_listening(port):
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else "<no log>"
            raise PeerError(f"{what} not listening on 127.0.0.1:{port}\n--- {log} ---\n{tail}")
        time.sleep(0.05)


class MailServers:
    """Dovecot + Postfix on free loopback ports; every address in ``users`` is a mailbox
    (IMAP login = the address, password :data:`PASSWORD`)."""

    def __init__(self, users: tuple[str, ...] = DEFAULT_USERS) -> None:
        if os.geteuid() != 0:
            raise PeerError("the mail fixture needs root (Postfix's master and Dovecot's user)")
        self.dovecot_bin = require_binary(["dovecot", "/usr/sbin/dovecot"], "dovecot-imapd")
        self.postfix_bin = require_binary(["postfix", "/usr/sbin/postfix"], "postfix")
        require_binary(["/usr/lib/dovecot/lmtp"], "dovecot-lmtpd")
        self.users = tuple(users)
        self.run = Path(tempfile.mkdtemp(prefix="slm.", dir="/tmp"))
        self.imap_port = free_tcp_port()
        self.lmtp_port = free_tcp_port()
        self.smtp_port = free_tcp_port()
        self._dovecot_started = False
        self._postfix_started = False

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> MailServers:
        run = self.run
        os.chmod(run, 0o755)
        for sub in ("dovecot/run", "dovecot/state", "mail", "log", "postfix/etc", "postfix/spool"):
            (run / sub).mkdir(parents=True, exist_ok=True)
        pw = pwd.getpwnam("dovecot")
        fmt = {
            "run": run, "imap": self.imap_port, "lmtp": self.lmtp_port, "smtp": self.smtp_port,
            "user": pw.pw_name, "group": "dovecot", "uid": pw.pw_uid, "gid": pw.pw_gid,
        }  # fmt: skip
        (run / "dovecot/dovecot.conf").write_text(_DOVECOT_CONF.format(**fmt))
        users = run / "dovecot/users"
        users.write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}::::::\n" for u in self.users))
        users.chmod(0o600)
        for sub in ("dovecot", "mail", "log"):
            shutil.chown(run / sub, pw.pw_uid, pw.pw_gid)
            for p in (run / sub).rglob("*"):
                shutil.chown(p, pw.pw_uid, pw.pw_gid)
        (run / "postfix/etc/main.cf").write_text(_POSTFIX_MAIN.format(**fmt))
        (run / "postfix/etc/master.cf").write_text(_POSTFIX_MASTER.format(**fmt))
        self._daemon(
            ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups",
             self.dovecot_bin, "-c", str(run / "dovecot/dovecot.conf")],
            "dovecot.stdout",
        )  # fmt: skip
        self._dovecot_started = True
        _wait_port(self.imap_port, "dovecot imap", run / "log/dovecot.log")
        _wait_port(self.lmtp_port, "dovecot lmtp", run / "log/dovecot.log")
        self.start_smtp()
        return self

    def start_smtp(self) -> None:
        self._daemon([self.postfix_bin, "-c", str(self.run / "postfix/etc"), "start"], "pf.out")
        self._postfix_started = True
        _wait_port(self.smtp_port, "postfix smtpd", self.run / "log/postfix.log")

    def stop_smtp(self) -> None:
        """Stop Postfix (`postfix abort`: no grace period; its queue stays on disk for the next
        start) and wait until its SMTP port refuses connections."""
        if not self._postfix_started:
            return
        self._daemon([self.postfix_bin, "-c", str(self.run / "postfix/etc"), "abort"], "pf.out")
        self._postfix_started = False
        deadline = time.monotonic() + 15
        while port_is_listening(self.smtp_port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self.stop_smtp()
        if self._dovecot_started:
            self._daemon(
                [self.dovecot_bin, "-c", str(self.run / "dovecot/dovecot.conf"), "stop"],
                "dovecot.stdout",
                check=False,
            )
            self._dovecot_started = False
            deadline = time.monotonic() + 10
            while port_is_listening(self.imap_port) and time.monotonic() < deadline:
                time.sleep(0.05)
        shutil.rmtree(self.run, ignore_errors=True)

    def __enter__(self) -> MailServers:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _daemon(self, argv: list[str], log: str, *, check: bool = True) -> None:
        with open(self.run / "log" / log, "ab") as out:
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        if rc != 0 and check:
            tail = (self.run / "log" / log).read_text(errors="replace")[-2000:]
            raise PeerError(f"{argv[0]} exited {rc}: {argv}\n{tail}")

    # -- helpers for tests -------------------------------------------------------------------
    def send(self, msg: EmailMessage) -> None:
        """Submit ``msg`` to Postfix (as a customer's mail client would)."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
            s.send_message(msg)

    def deliver(self, raw: bytes, to: str, sender: str = "") -> None:
        """Put raw bytes straight into ``to``'s INBOX over LMTP (a fixture file, unchanged);
        the empty envelope sender is what auto-replies and bounces use."""
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=10) as s:
            s.sendmail(sender, [to], raw)

    def fetch(self, user: str, mailbox: str = "INBOX") -> list[email.message.EmailMessage]:
        """Every message in ``user``'s mailbox, parsed, in arrival order (read over IMAP)."""
        with imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10) as imap:
            imap.login(user, PASSWORD)
            imap.select(mailbox, readonly=True)
            _typ, data = imap.uid("SEARCH", None, "ALL")
            out = []
            for uid in data[0].split():
                _typ, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                raw = parts[0][1]
                out.append(email.message_from_bytes(raw, policy=email.policy.default))
            return out

    def count(self, user: str, mailbox: str = "INBOX") -> int:
        with imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10) as imap:
            imap.login(user, PASSWORD)
            _typ, data = imap.select(mailbox, readonly=True)
            return int(data[0])

    def wait_for(
        self, user: str, count: int, timeout: float = 10.0, mailbox: str = "INBOX"
    ) -> list[email.message.EmailMessage]:
        """Poll ``user``'s mailbox until it holds at least ``count`` messages."""
        deadline = time.monotonic() + timeout
        while self.count(user, mailbox) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.fetch(user, mailbox)

"""Invitations through a real SMTP server on loopback (aiosmtpd): the right URL and password arrive, once."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import stat
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from nbfleet.errors import NbfleetError
from nbfleet.roster import mail
from nbfleet.roster.allocate import fill_roster
from nbfleet.roster.students import load_roster
from nbfleet.settings import load

ROSTER = ("SNumber,Name,LastName,Email,mbd_url,mbd_server,mbd_port,Password,Admin\n"
          "s1,Ada,Lovelace,ada@example.org,,,,,FALSE\n"
          "s2,Zoë,O'Brien,zoe@example.org,,,,,FALSE\n"
          "s3,No,Mail,,,,,,FALSE\n"
          "boss,Tea,Cher,tea@example.org,,,,,TRUE\n")


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name for it
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def course(sample_course: Path, port: int, mail_section: str = "") -> object:
    toml = sample_course / "course.toml"
    text = toml.read_text()
    text = text.replace('smtp_host = "localhost"', 'smtp_host = "127.0.0.1"').replace("smtp_port = 25", f"smtp_port = {port}")
    toml.write_text(text + mail_section)
    (sample_course / "roster" / "users.csv").write_text(ROSTER)
    (sample_course / "hosts").write_text("local local capacity=10\n")
    s = load(toml)
    fill_roster(s)
    return s


def test_invitations_arrive_with_url_and_password_and_a_second_run_sends_nothing(sample_course, smtp_server):
    controller, inbox = smtp_server
    s = course(sample_course, controller.port)
    students = {st.id: st for st in load_roster(s).students}

    dry = mail.run(s, send_now=False)
    assert "3 not sent yet: run `doit mail --send`" in dry and inbox.messages == []
    assert "no e-mail address, no invitation: s3" in dry
    folder = s.build_dir / "mail"
    assert sorted(p.name for p in folder.glob("*.eml")) == ["boss.eml", "s1.eml", "s2.eml"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE((folder / "s1.eml").stat().st_mode) == 0o600

    lines = mail.run(s, send_now=True)
    assert lines[-1] == "sent 3: s1, s2, boss"
    got = {rcpt[0]: msg for rcpt, msg in inbox.messages}
    assert set(got) == {"ada@example.org", "zoe@example.org", "tea@example.org"}
    for sid, address in (("s1", "ada@example.org"), ("s2", "zoe@example.org"), ("boss", "tea@example.org")):
        msg, st = got[address], students[sid]
        body = msg.get_content()
        assert st.url in body and f"Password:  {st.password}" in body
        assert msg["Subject"] == "Your Jupyter server for Managing Big Data (sample)"
        assert msg["From"] == "teacher@example.org" and msg["Date"] and msg["Message-ID"]
    assert got["zoe@example.org"]["To"].addresses[0].display_name == "Zoë O'Brien"
    assert got["zoe@example.org"].get_content().startswith("Dear Zoë,")

    log = json.loads((folder / "sent.json").read_text())
    assert sorted(v["student"] for v in log.values()) == ["boss", "s1", "s2"]
    assert stat.S_IMODE((folder / "sent.json").stat().st_mode) == 0o600

    assert mail.run(s, send_now=True)[-1] == "sent 0 (every invitation was already sent)"
    assert len(inbox.messages) == 3, "nobody is mailed twice for the same invitation"


def test_a_student_who_leaves_loses_their_invitation_file(sample_course, smtp_server):
    controller, _ = smtp_server
    s = course(sample_course, controller.port)
    mail.run(s)
    roster = s.roster_file
    roster.write_text("\n".join(line for line in roster.read_text().splitlines() if not line.startswith("s1,")) + "\n")
    mail.run(s)
    assert not (s.build_dir / "mail" / "s1.eml").exists()


def self_signed(tmp: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "smtp-cert.pem", tmp / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_file, key_file


@pytest.fixture
def tls_smtp_server(tmp_path, monkeypatch):
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((mechanism, auth_data.login, session.ssl is not None))
        ok = auth_data.login == b"teacher" and auth_data.password == b"s3cret-smtp"
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True,
                            authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts this test's own certificate authority
    yield controller, inbox, logins
    controller.stop()


def test_starttls_and_login(sample_course, tls_smtp_server, monkeypatch):
    controller, inbox, logins = tls_smtp_server
    s = course(sample_course, controller.port, "")
    toml = s.file
    toml.write_text(toml.read_text().replace("starttls = false", "starttls = true").replace('user = ""', 'user = "teacher"'))
    s = load(toml)

    monkeypatch.delenv("NBFLEET_SMTP_PASSWORD", raising=False)
    with pytest.raises(NbfleetError, match=r"set \$NBFLEET_SMTP_PASSWORD"):
        mail.run(s, send_now=True)

    monkeypatch.setenv("NBFLEET_SMTP_PASSWORD", "wrong")
    with pytest.raises(NbfleetError, match=r"^smtp://127.0.0.1:\d+: login as 'teacher' refused: 535"):
        mail.run(s, send_now=True)
    assert inbox.messages == []

    monkeypatch.setenv("NBFLEET_SMTP_PASSWORD", "s3cret-smtp")
    assert mail.run(s, send_now=True)[-1] == "sent 3: s1, s2, boss"
    assert len(inbox.messages) == 3
    assert logins and all(tls for _, _, tls in logins), "the login only ever crossed an encrypted connection"


def test_no_login_in_clear_text_to_another_machine(sample_course, smtp_server, monkeypatch):
    controller, inbox = smtp_server
    s = course(sample_course, controller.port)
    toml = s.file
    toml.write_text(toml.read_text().replace('smtp_host = "127.0.0.1"', 'smtp_host = "mail.example.org"').replace('user = ""', 'user = "teacher"'))
    monkeypatch.setenv("NBFLEET_SMTP_PASSWORD", "pw")
    with pytest.raises(NbfleetError, match="refusing to log in without STARTTLS"):
        mail.run(load(toml), send_now=True)


def test_an_unreachable_server_is_one_line(sample_course):
    s = course(sample_course, free_port())
    with pytest.raises(NbfleetError, match=r"^smtp://127.0.0.1:\d+: cannot send: .*refused"):
        mail.run(s, send_now=True)
    assert not (s.build_dir / "mail" / "sent.json").exists()


@pytest.mark.parametrize("template, where, what", [
    ("Dear {name},\nyour link: {link}\n", "course/invitation.txt:2:12", "unknown placeholder {link}"),
    ("Dear {name},\n  {url.__class__}\n", "course/invitation.txt:2:3", "unknown placeholder {url.__class__}"),
    ("Hello }\n", "course/invitation.txt:1:7", "a lone '}'"),
    ("Hello {\n", "course/invitation.txt:1:7", "a lone '{'"),
])
def test_a_template_with_a_bad_placeholder_names_line_and_column(sample_course, smtp_server, template, where, what):
    controller, _ = smtp_server
    s = course(sample_course, controller.port)
    (sample_course / "course" / "invitation.txt").write_text(template)
    with pytest.raises(NbfleetError) as err:
        mail.run(s)
    assert err.value.where == where and what in err.value.what


def test_literal_braces_in_a_template(sample_course, smtp_server):
    controller, _ = smtp_server
    s = course(sample_course, controller.port)
    (sample_course / "course" / "invitation.txt").write_text("Use {{ and }} freely, {name}.\n")
    mail.run(s)
    msg = message_from_bytes((s.build_dir / "mail" / "s1.eml").read_bytes(), policy=policy.default)
    assert msg.get_content() == "Use { and } freely, Ada.\n"

"""Invitations: one e-mail per user with their URL and password, written to ``build/mail/<id>.eml`` and sent
over SMTP only when the teacher asks (``doit mail --send``).

The template (``course/invitation.txt`` by default) and the subject in course.toml use ``{placeholders}``:
{name}, {last_name}, {full_name}, {id}, {email}, {course}, {url}, {password}, {sender}.
The sent-log ``build/mail/sent.json`` is keyed by a hash of each invitation (recipient, subject, text): nobody
gets the same invitation twice, and a changed invitation (a reset password, a new URL) is sent again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from .. import paths
from ..errors import NbfleetError
from ..fs import write_private
from .students import load_roster

FIELDS = ("name", "last_name", "full_name", "id", "email", "course", "url", "password", "sender")
KEY_HEADER = "X-Nbfleet-Invitation"
LOOPBACK = ("localhost", "127.0.0.1", "::1")
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class Invitation(NamedTuple):
    student: str
    to: str
    key: str  # sha256 of recipient, subject and text
    path: Path
    message: object  # an email.message.EmailMessage


def check_template(text: str, label: str) -> None:
    """Raise NbfleetError (file:line:column) for a placeholder the template cannot fill or a lone brace."""
    for m in PLACEHOLDER.finditer(text):
        token = m.group()
        if token in ("{{", "}}"):
            continue
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
        if token in ("{", "}"):
            raise NbfleetError(f"{label}:{line}:{col}", f"a lone {token!r}: write {token * 2} for a literal brace")
        name = m.group(1)
        if name not in FIELDS:
            known = ", ".join(f"{{{f}}}" for f in FIELDS)
            raise NbfleetError(f"{label}:{line}:{col}", f"unknown placeholder {token} (known: {known})")


def values(student, settings) -> dict[str, str]:
    """What the placeholders stand for, for one student."""
    return {
        "name": student.name, "last_name": student.last_name, "full_name": student.full_name, "id": student.id,
        "email": student.email, "course": settings.course.name, "url": student.url or "", "password": student.password or "",
        "sender": settings.mail.sender,
    }


def compose(student, settings, template: str):
    """The invitation of one student (an EmailMessage), without Date or Message-ID (added when sent) so the file is
    reproducible."""
    from email.headerregistry import Address  # the email package: only when invitations are written
    from email.message import EmailMessage

    fill = values(student, settings)
    body = template.format(**fill)
    msg = EmailMessage()
    msg["From"] = settings.mail.sender
    msg["To"] = Address(display_name=student.full_name, addr_spec=student.email)
    msg["Subject"] = settings.mail.subject.format(**fill)
    msg.set_content(body, cte="quoted-printable")  # 7-bit safe for any relay, whatever the names
    key = hashlib.sha256("\0".join((student.id, student.email, str(msg["Subject"]), body)).encode("utf-8")).hexdigest()
    msg[KEY_HEADER] = key
    return msg


def write_invitations(settings, students: Sequence) -> tuple[list[Invitation], list[str]]:
    """Write ``build/mail/<id>.eml`` (mode 0600) for every student with an e-mail address.

    Returns the invitations and the ids of students without an address. Invitations of students no longer in the
    roster are deleted (they hold passwords).
    """
    label = paths.shown(settings.mail.template, settings.root)
    try:
        template = Path(settings.mail.template).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NbfleetError(label, "no invitation template (mail.template in course.toml)") from None
    except UnicodeDecodeError:
        raise NbfleetError(label, "not UTF-8") from None
    check_template(template, label)
    check_template(settings.mail.subject, f"{paths.shown(settings.file, settings.root)}: mail.subject")
    folder = paths.mail_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    missing = [s for s in students if not (s.url and s.password)]
    if missing:
        raise NbfleetError(paths.shown(settings.roster_file, settings.root) + f":{missing[0].line}",
                           f"{missing[0].id} has no url or password yet: run `doit roster` first")
    invitations, without = [], []
    for s in students:
        if not s.email:
            without.append(s.id)
            continue
        msg = compose(s, settings, template)
        path = folder / f"{s.id}.eml"
        data = msg.as_bytes()
        try:
            same = path.read_bytes() == data
        except FileNotFoundError:
            same = False
        if not same:
            write_private(path, data.decode("utf-8"))
        invitations.append(Invitation(s.id, s.email, msg[KEY_HEADER], path, msg))
    keep = {f"{s.id}.eml" for s in students}
    for old in folder.glob("*.eml"):
        if old.name not in keep:
            old.unlink()
    return invitations, without


def read_log(path: Path) -> dict[str, dict]:
    """The sent-log (empty when nothing was sent yet); NbfleetError when it is damaged."""
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise NbfleetError(str(path), f"the sent-log is not valid JSON ({exc}); fix or remove it (removing it re-sends everything)") from None
    return log if isinstance(log, dict) else {}


def unsent(invitations: Sequence[Invitation], log: dict[str, dict]) -> list[Invitation]:
    """The invitations the sent-log has no record of."""
    return [i for i in invitations if i.key not in log]


class Sent(NamedTuple):
    sent: list[str]
    failed: dict[str, str]  # student -> reason


def send(settings, invitations: Sequence[Invitation], timeout: float = 30.0) -> Sent:
    """Send the invitations not in the sent-log over SMTP; record each in the log as soon as it is accepted.

    STARTTLS when ``mail.starttls``; login when a user is set (``mail.user`` or ``$NBFLEET_SMTP_USER``) with the
    password from the environment variable ``mail.password_env``. A login is never sent in clear text except
    to a server on this machine.
    """
    import smtplib  # with ssl and socket: only when mail is sent, not while doit lists tasks
    import ssl
    from email.utils import formatdate, make_msgid

    log_path = paths.mail_log(settings)
    log = read_log(log_path)
    todo = unsent(invitations, log)
    if not todo:
        return Sent([], {})
    m = settings.mail
    user = os.environ.get("NBFLEET_SMTP_USER") or m.user
    password = os.environ.get(m.password_env, "")
    where = f"smtp://{m.smtp_host}:{m.smtp_port}"
    if user and not password:
        raise NbfleetError(f"{paths.shown(settings.file, settings.root)}: mail.password_env",
                           f"set ${m.password_env} to the SMTP password of {user!r}")
    if user and not m.starttls and m.smtp_host not in LOOPBACK:
        raise NbfleetError(f"{paths.shown(settings.file, settings.root)}: mail.starttls",
                           "refusing to log in without STARTTLS: the password would cross the network in clear")
    sent: list[str] = []
    failed: dict[str, str] = {}
    try:
        with smtplib.SMTP(m.smtp_host, m.smtp_port, timeout=timeout) as smtp:
            smtp.ehlo()
            if m.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if user:
                smtp.login(user, password)
            domain = m.sender.rpartition("@")[2] or None
            for inv in todo:
                msg = inv.message
                del msg["Date"], msg["Message-ID"]
                msg["Date"] = formatdate(localtime=True)
                msg["Message-ID"] = make_msgid(domain=domain)
                try:
                    smtp.send_message(msg)
                except smtplib.SMTPRecipientsRefused as exc:
                    failed[inv.student] = "; ".join(f"{a}: {c} {r.decode(errors='replace')}" for a, (c, r) in exc.recipients.items())
                    continue
                except smtplib.SMTPDataError as exc:
                    failed[inv.student] = f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}"
                    continue
                log[inv.key] = {"student": inv.student, "to": inv.to, "sent": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
                write_private(log_path, json.dumps(log, indent=1, sort_keys=True) + "\n")
                sent.append(inv.student)
    except smtplib.SMTPAuthenticationError as exc:
        raise NbfleetError(where, f"login as {user!r} refused: {exc.smtp_code} {exc.smtp_error.decode(errors='replace')}") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise NbfleetError(where, f"the server does not support this: {exc}") from None
    except ssl.SSLError as exc:
        raise NbfleetError(where, f"TLS failed: {exc}") from None
    except (OSError, smtplib.SMTPException) as exc:
        if sent:  # what went out is in the log; a rerun sends the rest
            failed.update({i.student: str(exc) for i in todo if i.student not in sent and i.student not in failed})
            return Sent(sent, failed)
        raise NbfleetError(where, f"cannot send: {exc or type(exc).__name__}") from None
    return Sent(sent, failed)


def run(settings, send_now: bool = False) -> list[str]:
    """``doit mail [--send]``: write every invitation, send the unsent ones when asked; return lines to print."""
    roster = load_roster(settings)
    invitations, without = write_invitations(settings, roster.students)
    folder = paths.shown(paths.mail_dir(settings), settings.root)
    lines = [f"{len(invitations)} invitations in {folder}/"]
    if without:
        lines.append(f"no e-mail address, no invitation: {', '.join(without)}")
    log = read_log(paths.mail_log(settings))
    todo = unsent(invitations, log)
    if not send_now:
        lines.append(f"{len(todo)} not sent yet" + (": run `doit mail --send`" if todo else ""))
        return lines
    result = send(settings, invitations)
    lines.append(f"sent {len(result.sent)}" + (f": {', '.join(result.sent)}" if result.sent else " (every invitation was already sent)"))
    if result.failed:
        detail = "; ".join(f"{k}: {v}" for k, v in result.failed.items())
        raise NbfleetError(f"smtp://{settings.mail.smtp_host}:{settings.mail.smtp_port}",
                           f"{len(result.failed)} not sent ({detail}); the others were; rerun `doit mail --send`")
    return lines


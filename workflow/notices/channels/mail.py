"""Email over SMTP (``SMTP_URL``: smtp://user:pass@host:port, or smtps:// for SSL on 465), UTF-8."""

from __future__ import annotations

import os
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from workflow.notices.channels.base import DeliveryError, Message, register


@register
class Email:
    """Sends to the address in ``target``."""

    name = "email"
    rate = None

    def send(self, message: Message) -> None:
        """Send one UTF-8 mail with a Chinese subject and body."""
        url = os.environ.get("SMTP_URL")
        if not url:
            raise DeliveryError("SMTP_URL is not set", retryable=False)
        parts = urlsplit(url)
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = os.environ.get("GRIDCASE_MAIL_FROM", "gridcase@localhost")
        mail["To"] = message.target
        mail["Message-ID"] = f"<{message.id}@gridcase>"
        mail.set_content(message.body, charset="utf-8")
        host, port = parts.hostname or "127.0.0.1", parts.port or (465 if parts.scheme == "smtps" else 25)
        try:
            client: smtplib.SMTP = (smtplib.SMTP_SSL(host, port, timeout=10, context=ssl.create_default_context())
                                    if parts.scheme == "smtps" else smtplib.SMTP(host, port, timeout=10))
            with client:
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"address refused: {exc}", retryable=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{exc.__class__.__name__}: {exc}") from exc

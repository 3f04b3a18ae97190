"""WeCom (企业微信) and DingTalk (钉钉) group robots: markdown to a group, errcode checked even on HTTP 200."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
import urllib.parse

from workflow.notices.channels.base import DeliveryError, Message, post_json, register

# Both robots accept 20 messages a minute; DingTalk then blocks the robot for 10 minutes.
ROBOT_RATE_DEFAULT = "20/minute"


def _robot_rate() -> str:
    return os.environ.get("GRIDCASE_ROBOT_RATE", ROBOT_RATE_DEFAULT)


def _check(channel: str, answer: dict[str, object], throttled: set[int]) -> None:
    code = answer.get("errcode")
    if code == 0:
        return
    reason = f"{channel} errcode {code}: {answer.get('errmsg')}"
    raise DeliveryError(reason, retryable=code in throttled or code == -1)


@register
class WeCom:
    """企业微信 group robot: ``target`` is the webhook URL with its key."""

    name = "wecom"

    @property
    def rate(self) -> str:
        """Sends a minute per robot."""
        return _robot_rate()

    def send(self, message: Message) -> None:
        """Post a markdown message (≤ 4096 bytes)."""
        text = f"**{message.title}**\n{message.body}".encode()[:4000].decode("utf-8", "ignore")
        body = json.dumps({"msgtype": "markdown", "markdown": {"content": text}}, ensure_ascii=False)
        response = post_json(message.target, body.encode(), {})
        _check("wecom", _json(response.text), throttled={45009})


@register
class DingTalk:
    """钉钉 custom robot: ``target`` is the webhook URL with its access token, ``secret`` signs it."""

    name = "dingtalk"

    @property
    def rate(self) -> str:
        """Sends a minute per robot."""
        return _robot_rate()

    def send(self, message: Message) -> None:
        """Post a markdown message, signed with timestamp + HMAC-SHA256 when a secret is set."""
        url = message.target
        if message.secret:
            timestamp = str(round(time.time() * 1000))
            digest = hmac.new(message.secret.encode(), f"{timestamp}\n{message.secret}".encode(),
                              hashlib.sha256).digest()
            sign = urllib.parse.quote_plus(base64.b64encode(digest))
            url = f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"
        body = json.dumps({"msgtype": "markdown", "markdown": {"title": message.title, "text": message.body}},
                          ensure_ascii=False)
        response = post_json(url, body.encode(), {})
        _check("dingtalk", _json(response.text), throttled={130101})


def _json(text: str) -> dict[str, object]:
    try:
        answer = json.loads(text)
    except ValueError as exc:
        raise DeliveryError(f"the robot answered something that is not JSON: {text[:200]}") from exc
    return answer if isinstance(answer, dict) else {"errcode": -1, "errmsg": text[:200]}

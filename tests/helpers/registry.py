"""A cookie-keeping HTTP visitor of the stand-in registry, shared by the registry tests."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request
import uuid

DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"


class Visitor:
    """A cookie-keeping HTTP client that does what the page's script does."""

    def __init__(self, site, user_agent: str = DESKTOP_UA) -> None:
        self.site = site
        self.user_agent = user_agent
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, url: str | None = None) -> str:
        request = urllib.request.Request(url or self.site.url, headers={"User-Agent": self.user_agent})
        with self.opener.open(request, timeout=10) as response:
            return response.read().decode()

    def token(self) -> str:
        return re.search(r'id="token" name="token" value="(\w+)"', self.get()).group(1)

    def post(self, **fields: str) -> tuple[str, str]:
        boundary = uuid.uuid4().hex
        body = (
            b"".join(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                for k, v in fields.items()
            )
            + f"--{boundary}--\r\n".encode()
        )
        request = urllib.request.Request(
            self.site.url,
            data=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", "User-Agent": self.user_agent},
        )
        with self.opener.open(request, timeout=10) as response:
            return response.headers.get_content_type(), response.read().decode()

    def lookup(self, nuip: str, **extra: str) -> tuple[str, str]:
        fields = {"nuip": nuip, "tipo": "-1", "token": self.token(), "g-recaptcha-response": "", "wd": "0"}
        fields.update(extra)
        return self.post(**fields)

"""Plays the browser for an SSO sign-in: opens URL, follows redirects
with one cookie jar (as a browser would, across Synapse and the OpenID
Connect provider), fills the provider's login form with LOGIN (any
password) and submits the forms that follow (consent), until a page
that is no form: the client's loopback callback. Prints that page's
HTTP status on the first line and its body after it.
Usage: sso_browser.py URL LOGIN"""

import html.parser
import http.cookiejar
import sys
import urllib.error
import urllib.parse
import urllib.request

url, login = sys.argv[1], sys.argv[2]


class Forms(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""),
                               "method": (attrs.get("method") or "get").lower(), "fields": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """Browsers count http://127.0.0.1 as a secure origin and send its
    `Secure` cookies (Synapse's SSO session cookie is one)."""

    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.get_full_url()).hostname
        return host == "127.0.0.1" or super().return_ok_secure(cookie, request)


opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(
    http.cookiejar.CookieJar(policy=LoopbackIsSecure())))
data = None
for _ in range(20):
    try:
        with opener.open(urllib.request.Request(url, data=data), timeout=20) as r:
            status, body, url = r.status, r.read().decode(errors="replace"), r.geturl()
    except urllib.error.HTTPError as e:
        status, body, url = e.code, e.read().decode(errors="replace"), e.geturl()
    parser = Forms()
    parser.feed(body)
    if not parser.forms or status >= 400:
        print(status)
        print(body)
        sys.exit(0)
    form = parser.forms[0]
    fields = form["fields"]
    if "login" in fields:
        fields["login"] = login
    if "password" in fields:
        fields["password"] = "any"
    url = urllib.parse.urljoin(url, form["action"])
    data = urllib.parse.urlencode(fields).encode() if form["method"] == "post" else None
sys.exit("sso_browser: more than 20 pages without reaching the callback")

"""Free-mail providers: an address there is a person's private one, and its domain says nothing about an
employer. Exact domains, plus any domain whose first label is a provider name (gmx.de, yahoo.co.uk ...)."""
from __future__ import annotations

FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "ymail.com", "rocketmail.com", "msn.com", "aol.com", "aim.com",
    "icloud.com", "me.com", "mac.com", "mail.com", "email.com", "zoho.com", "zohomail.com", "fastmail.com",
    "tutanota.com", "tuta.io", "hey.com", "inbox.com",
    "web.de", "t-online.de", "freenet.de", "posteo.de", "mail.de", "arcor.de", "online.de", "email.de",
    "orange.fr", "free.fr", "laposte.net", "wanadoo.fr", "sfr.fr", "libero.it", "virgilio.it", "tiscali.it",
    "btinternet.com", "sky.com", "bluewin.ch", "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "mail.ru",
    "bk.ru", "list.ru", "inbox.ru", "rambler.ru", "ukr.net", "naver.com", "daum.net", "hanmail.net",
    "qq.com", "foxmail.com", "163.com", "126.com", "yeah.net", "sina.com", "sina.cn", "sohu.com",
    "aliyun.com", "139.com", "189.cn", "wo.cn", "tom.com", "21cn.com", "vip.qq.com", "vip.163.com",
    "yahoo.co.jp", "rediffmail.com", "uol.com.br", "bol.com.br", "terra.com.br",
})
FREE_MAIL_PROVIDERS = frozenset({"gmail", "googlemail", "yahoo", "ymail", "outlook", "hotmail", "live",
                                 "windowslive", "gmx", "aol", "icloud", "yandex", "proton", "protonmail",
                                 "pm", "zoho"})


def is_free_mail(domain: str) -> bool:
    """``gmx.at`` -> True, ``acme.com`` -> False (lower-case domain without '@')."""
    return domain in FREE_MAIL_DOMAINS or domain.split(".", 1)[0] in FREE_MAIL_PROVIDERS

"""What Django's error reports may show (``DEFAULT_EXCEPTION_REPORTER_FILTER``): the technical 500 page that
DEBUG serves, and the reports mailed to ``ADMINS``.

Security decision: no credential reaches an error page, with DEBUG on too. Django's own filter hides
settings by name only (``PASSWORD``, ``SECRET_KEY``, ...), so ``REDIS_URL=redis://:pw@host``, a cache's
``LOCATION``, ``DATABASE_URL`` in ``request.META`` (``runserver`` copies the environment there) and a
connection's parameters in a traceback's local variables would all show; and with DEBUG on it ignores
``sensitive_variables`` / ``sensitive_post_parameters`` (the admin's login password) altogether.
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# Sensitive by name: Django's list, plus the settings and variables that hold connection strings.
HIDDEN_NAMES = re.compile(
    "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|DSN|DATABASE|REDIS|LOCATION", flags=re.I
)
# The userinfo of a URL (``scheme://user:password@``), up to its last "@" before the path: a raw "@" in
# a password is common enough in the wild.
_USERINFO = re.compile(r"\b([a-z][a-z0-9+.\-]*://)[^\s/?#]*@", flags=re.I)
# ``name=value`` where the name says secret: query strings (``?password=``, ``&token=``) and libpq's
# keyword/value strings (``host=db password=...``).
_SECRET_PARAMETER = re.compile(
    r"((?:^|(?<=[\s?&;]))[\w.\-]*(?:API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE)[\w.\-]*=)('[^']*'|[^\s&#;]+)",
    flags=re.I,
)
# Credentials by their shape, whatever variable holds them (``raw`` in an authenticator): a JWT, an API key
# (``authsvc_<public id>_<secret>``, apikeys.models.KEY_PREFIX), a webhook secret, and a run of 40+ URL-safe
# characters (the emailed tokens are 43).
_CREDENTIAL_SHAPE = re.compile(
    r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|\bauthsvc_[A-Za-z0-9]+_[A-Za-z0-9_-]+"
    r"|\bwhsec_[A-Za-z0-9+/=]+|[A-Za-z0-9_-]{40,}"
)
_NESTING = 4  # how deep a traceback's dicts are looked into (they may refer to themselves)


class ErrorReportFilter(SafeExceptionReporterFilter):
    hidden_settings = HIDDEN_NAMES

    def is_active(self, request) -> bool:
        # Django's filter steps aside with DEBUG ("your site is not safe anyway"): a development server on
        # a shared network, or a DEBUG left on, is exactly where the page is seen.
        return True

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        return self.cleanse_text(cleansed) if isinstance(cleansed, str) else cleansed

    def cleanse_text(self, text: str) -> str:
        """``text`` with every URL's userinfo, every secret-named ``name=value`` and everything shaped like
        one of our credentials replaced by stars."""
        text = _USERINFO.sub(lambda match: f"{match[1]}{self.cleansed_substitute}@", text)
        text = _SECRET_PARAMETER.sub(lambda match: f"{match[1]}{self.cleansed_substitute}", text)
        return _CREDENTIAL_SHAPE.sub(self.cleansed_substitute, text)

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._cleanse_variable(name, value, _NESTING)) for name, value in variables]

    def _cleanse_variable(self, name: Any, value: Any, depth: int) -> Any:
        if isinstance(name, str) and self.hidden_settings.search(name):
            return self.cleansed_substitute
        if isinstance(value, str):
            return self.cleanse_text(value)
        if isinstance(value, dict) and depth > 0:
            cleansed = {key: self._cleanse_variable(key, item, depth - 1) for key, item in value.items()}
            changed = any(cleansed[key] is not item for key, item in value.items())
            return cleansed if changed else value
        return value

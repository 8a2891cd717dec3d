"""API keys of a PBX: from environment variables, or from a file only its owner can read. Never from team.yaml,
never printed: a ``Credentials`` shows ``**********`` for its secret in ``repr`` and in every error."""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, SecretStr

from compliance.errors import SourceError
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason

# provider → (key variable, secret variable, where the vendor shows them)
ENV_NAMES: dict[str, tuple[str, str, str]] = {
    "binotel": ("BINOTEL_API_KEY", "BINOTEL_API_SECRET", "err.pbx.where.binotel"),   # where: its catalogue key
    "zadarma": ("ZADARMA_API_KEY", "ZADARMA_API_SECRET", "err.pbx.where.zadarma"),
}


class Credentials(BaseModel):
    """A key and its secret (``secret`` is never shown)."""

    key: SecretStr
    secret: SecretStr

    def values(self) -> tuple[str, str]:
        return self.key.get_secret_value(), self.secret.get_secret_value()


def load_credentials(provider: str, key_file: Optional[Path] = None) -> Credentials:
    """The PBX's key and secret: from ``key_file`` (``key=…`` and ``secret=…`` lines, mode 0600) when given, else
    from the provider's environment variables.

    Raises:
        SourceError: nothing found, an unreadable or group/world-readable file, a missing value.
    """
    key_var, secret_var, where = ENV_NAMES[provider]
    if key_file is not None:
        return _from_file(provider, key_file)
    key, secret = os.environ.get(key_var, "").strip(), os.environ.get(secret_var, "").strip()
    if not key or not secret:
        missing = say("err.and").join(v for v, given in ((key_var, key), (secret_var, secret)) if not given)
        raise SourceError(say("err.pbx.no_key", provider=provider.capitalize(), missing=missing, where=say(where)),
                          fatal=True)
    return Credentials(key=SecretStr(key), secret=SecretStr(secret))


def _from_file(provider: str, path: Path) -> Credentials:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = os_reason(exc) if isinstance(exc, OSError) else exc
        raise SourceError(say("err.pbx.key_unreadable", path=path, why=why), fatal=True) from None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SourceError(say("err.pbx.key_open", path=path, mode=f"{stat.S_IMODE(mode):04o}"), fatal=True)
    key_var, secret_var, where = ENV_NAMES[provider]
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#"):
            values[name.strip().lower()] = value.strip().strip('"').strip("'")
    key = values.get("key") or values.get(key_var.lower(), "")
    secret = values.get("secret") or values.get(secret_var.lower(), "")
    if not key or not secret:
        raise SourceError(say("err.pbx.key_lines", path=path, where=say(where)), fatal=True)
    return Credentials(key=SecretStr(key), secret=SecretStr(secret))

"""How the settings read their environment: a blank variable counts as unset, and dev secrets are made once.

Nothing here needs configured settings: the settings modules load it while they are being built.
"""

import json
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured


class _BlankMeansUnset(Mapping):
    """os.environ without its blank entries. django-environ reads `SECRET_KEY=` in a .env file as "", which would
    replace the default: a copied .env.example would then start with an empty key, an empty storage path..."""

    def __init__(self, environment: Mapping[str, str]):
        self._environment = environment

    def __getitem__(self, name: str) -> str:
        value = self._environment[name]
        if not value.strip():
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return (name for name, value in self._environment.items() if value.strip())

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Env(environ.Env):
    """django-environ's reader, where a variable that is empty or only whitespace takes its default."""

    def __init__(self, **scheme):
        super().__init__(**scheme)
        # Instance attribute: the class-level ENVIRON stays os.environ, which read_env() writes into.
        self.ENVIRON = _BlankMeansUnset(os.environ)


def dev_secret(directory: Path, name: str, *, nbytes: int = 32) -> str:
    """The secret stored in directory/name, made on first use (mode 0600) and reused afterwards.

    Every process of the dev stack (API, workers, the local Batch subprocess) loads the dev settings and so reads
    the same file. Creation is atomic: a process racing this one ends up with the secret written first.
    """
    path = directory / name
    if not path.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        draft = directory / f".{name}.{os.getpid()}.tmp"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(nbytes))
        try:
            os.link(draft, path)  # fails if the name exists: never replaces a secret another process made
            _announce(name, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    value = path.read_text().strip()
    if not value:
        raise ImproperlyConfigured(f"{path} is empty: delete it and a new secret is made on the next start")
    return value


def _announce(name: str, path: Path) -> None:
    # Logging is not configured while settings load: one JSON line in the shape of apps.core.logging, no secret.
    line = {"ts": datetime.now(UTC).isoformat(timespec="milliseconds"), "level": "INFO",
            "logger": "apps.api.config.settings", "event": "dev_secret_generated", "name": name, "path": str(path)}
    print(json.dumps(line), file=sys.stderr, flush=True)

"""The users file: people, roles and salted scrypt password hashes (TOML, written atomically, never plain passwords).

Where it lives is configuration (`Config.users_path`: users.file / GOVINDEX_USERS, else users.toml beside the
warehouse); this module only reads and writes the file it is given. One table per user:

    [users.zhang-san]
    role = "district_official"
    district_code = "310104"
    scrypt = "n=16384,r=8,p=1"
    salt = "<hex, 16 random bytes per user>"
    hash = "<hex, 32 bytes>"
    created = "2025-06-01T02:00:00+00:00"

The file holds hashes only; it should still be readable by the service account alone (written with mode 0600).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import tomllib
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from etl.contract.tables import UNIT_CODE_PATTERN
from etl.stores.roles import Permission, can, is_role, label, roles

ROLES: tuple[str, ...] = roles()  # the permissions table (etl/stores/roles.py) is the one place roles are defined
ROLE_LABELS: dict[str, tuple[str, str]] = {r: (label(r, "zh"), label(r, "en")) for r in ROLES}  # (Chinese, English)
# scrypt cost: n=2**14, r=8 takes ~16 MB and ~50 ms: slow for guessing, fine for a login.
SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_LEN = 2**14, 8, 1, 32
MIN_PASSWORD = 8
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_PARAMS = re.compile(r"^n=([0-9]+),r=([0-9]+),p=([0-9]+)$")
#: the file's format version (top-level `schema_version`; a file without one is version 1, the release before it)
SCHEMA_VERSION = 1


class UserError(ValueError):
    """A user name, role, district, password or the users file itself is not acceptable; the message says which."""


@dataclass(frozen=True)
class User:
    """One account. `district_code` is set for district officials only."""

    name: str
    role: str
    district_code: str | None = None
    salt: str = ""
    hash: str = ""
    scrypt: str = f"n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}"
    created: str = ""

    def public(self) -> dict[str, str | None]:
        """What may be shown: no salt, no hash."""
        return {"name": self.name, "role": self.role, "district_code": self.district_code, "created": self.created}


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise UserError(
            f"bad user name {name!r}: 1-63 characters, lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_role(role: str, district_code: str | None, units: Collection[str] | None = None,
               code_pattern: str | None = None) -> tuple[str, str | None]:
    """A known role; district officials need a unit code, the others must not have one.

    The units are data (the warehouse's unit table, etl.warehouse.units): given `units` (their codes), the code must
    be one of them; without (no warehouse yet, or a users file read at sign-in) it must have a unit code's shape —
    GB/T 2260, or `code_pattern` (`[units] code_pattern`)."""
    if not is_role(role):
        raise UserError(f"unknown role {role!r}; roles: {', '.join(roles())}")
    role = str(role)
    if not can(role, Permission.ALL_DISTRICTS):
        if not district_code:
            raise UserError(f"a {role} needs a district code (e.g. --district 310104)")
        if units is not None and district_code not in units:
            shown = sorted(units)
            more = f" … ({len(shown)} units)" if len(shown) > 20 else ""
            raise UserError(f"unknown district code {district_code!r}; known: {', '.join(shown[:20])}{more}")
        if units is None and not re.fullmatch(code_pattern or UNIT_CODE_PATTERN, str(district_code)):
            raise UserError(f"unknown district code {district_code!r}: not a unit code (GB/T 2260, e.g. 310104)")
        return role, district_code
    if district_code:
        tied = " or ".join(r for r in roles() if not can(r, Permission.ALL_DISTRICTS))
        raise UserError(f"only a {tied} has a district; role {role!r} takes no --district")
    return role, None


def _derive(password: str, salt: bytes, params: str) -> bytes:
    m = _PARAMS.fullmatch(params)
    if not m:
        raise UserError(f"unknown scrypt parameters {params!r}")
    n, r, p = (int(x) for x in m.groups())
    password = unicodedata.normalize("NFKC", password)  # ｐａｓｓ (full-width, an IME's) and pass are one password
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * r * n * 2 + 2**20,
                          dklen=HASH_LEN)


def hash_password(password: str) -> tuple[str, str, str]:
    """(salt hex, hash hex, scrypt params) with a fresh random 16-byte salt."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    params = f"n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}"
    return salt.hex(), _derive(password, salt, params).hex(), params


_DUMMY_SALT = secrets.token_bytes(16)


def verify(user: User | None, password: str) -> bool:
    """Constant-time check. An unknown user costs one scrypt too, so timing does not reveal which names exist."""
    if user is None or not user.salt or not user.hash:
        _derive(password or "", _DUMMY_SALT, f"n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}")
        return False
    try:
        got = _derive(password or "", bytes.fromhex(user.salt), user.scrypt)
        want = bytes.fromhex(user.hash)
    except (ValueError, UserError):
        return False
    return hmac.compare_digest(got, want)


# -- the file ------------------------------------------------------------------------------------------------------
def load_users(path: str | os.PathLike[str]) -> dict[str, User]:
    """Every user in the file (empty when the file does not exist); a malformed entry raises UserError naming it."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"{path}: not a valid users file ({e})") from None
    found = data.get("schema_version", 1)
    if not isinstance(found, int) or found > SCHEMA_VERSION:
        raise UserError(f"用户文件 {path} 的格式版本 {found!r} 高于本程序支持的 {SCHEMA_VERSION}，请升级 govindex · {path}: "
                        f"schema_version {found!r} is newer than this govindex reads ({SCHEMA_VERSION}): "
                        "upgrade govindex")
    table = data.get("users", {})
    if not isinstance(table, dict) or set(data) - {"users", "schema_version"}:
        raise UserError(f"{path}: expected only [users.<name>] tables")
    out: dict[str, User] = {}
    allowed = {"role", "district_code", "salt", "hash", "scrypt", "created"}
    for name, entry in table.items():
        where = f"{path}: user {name!r}"
        if not isinstance(entry, dict):
            raise UserError(f"{where}: expected a table")
        extra = set(entry) - allowed
        if extra:
            raise UserError(f"{where}: unknown key(s) {', '.join(sorted(extra))}; allowed: {', '.join(sorted(allowed))}")
        try:
            check_name(name)
            role, district = check_role(str(entry.get("role", "")), entry.get("district_code"))
        except UserError as e:
            raise UserError(f"{where}: {e}") from None
        for key in ("salt", "hash"):
            value = entry.get(key)
            if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{16,256}", value):
                raise UserError(f"{where}: {key} must be a hex string")
        params = str(entry.get("scrypt", ""))
        if not _PARAMS.fullmatch(params):
            raise UserError(f"{where}: scrypt must look like 'n=16384,r=8,p=1', got {params!r}")
        out[name] = User(name=name, role=role, district_code=district, salt=entry["salt"], hash=entry["hash"],
                         scrypt=params, created=str(entry.get("created", "")))
    return out


def save_users(path: str | os.PathLike[str], users: Mapping[str, User]) -> None:
    """Write the whole file atomically (temp file in the same folder, fsync, rename), readable by the owner only."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc: dict[str, object] = {"schema_version": SCHEMA_VERSION, "users": {
        u.name: {k: v for k, v in (("role", u.role), ("district_code", u.district_code), ("scrypt", u.scrypt),
                                   ("salt", u.salt), ("hash", u.hash), ("created", u.created)) if v}
        for u in sorted(users.values(), key=lambda u: u.name)
    }}
    text = "# govindex users: managed with `govindex user add|remove|list`; salted scrypt hashes only.\n"
    text += tomli_w.dumps(doc)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def add_user(path: str | os.PathLike[str], name: str, role: str, password: str,
             district_code: str | None = None, *, replace: bool = False, units: Collection[str] | None = None,
             code_pattern: str | None = None) -> User:
    """Add (or with replace=True, reset) a user; returns the stored user. `units`: the codes of the unit table
    (etl.warehouse.units.units_at), when there is one."""
    check_name(name)
    role, district = check_role(role, district_code, units, code_pattern)
    users = load_users(path)
    if name in users and not replace:
        raise UserError(f"user {name!r} already exists (remove it first, or use --replace to reset it)")
    salt, digest, params = hash_password(password)
    user = User(name=name, role=role, district_code=district, salt=salt, hash=digest, scrypt=params,
                created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())
    save_users(path, {**users, name: user})
    return user


def remove_user(path: str | os.PathLike[str], name: str) -> User:
    users = load_users(path)
    if name not in users:
        raise UserError(f"no user {name!r} in {path}; users: {', '.join(sorted(users)) or '(none)'}")
    gone = users.pop(name)
    save_users(path, users)
    return gone


def authenticate(path: str | os.PathLike[str], name: str, password: str) -> User | None:
    """The user when name and password match, else None (same cost either way)."""
    try:
        users = load_users(path)
    except UserError:
        users = {}
    user = users.get(name) if isinstance(name, str) else None
    return user if verify(user, password) else None

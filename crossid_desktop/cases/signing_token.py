"""Signing with a key that never leaves its device: a smart card, a USB token or a software
store reached through PKCS#11 (the standard interface of such devices; on Linux, p11-kit also
offers the system's certificate stores this way).

:class:`SignerToken` names the device's PKCS#11 module (``.so``, ``.dll``, ``.dylib``), the token
by its label, the key and certificate by their label, and the PIN; :meth:`SignerToken.load`
opens a session on the token and gives a :class:`~crossid_desktop.cases.signing.SigningRequest`
whose credentials close the session with ``close()``. Elliptic-curve keys are signed with the
token's raw ECDSA mechanism (hashing done here), which every token offering ECDSA supports.
Needs the package python-pkcs11 (the ``tokens`` extra).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from crossid_desktop.cases.signing import SigningRequest, credentials_of
from crossid_desktop.errors import CaseError


@dataclass(frozen=True)
class SignerToken:
    """A signer whose key is on a PKCS#11 token (see the module docstring)."""

    module: Path
    token: str
    key: str
    pin: str = field(repr=False)
    role: str = "examiner"
    tsa: str = ""
    location: str = ""

    def load(self) -> SigningRequest:
        """Open the token and find the key and its certificate; :class:`CaseError` with the
        reason when the module, the token, the PIN or the key is not right. The caller closes
        the request's credentials."""
        try:
            from pyhanko.config.pkcs11 import TokenCriteria  # pyHanko and python-pkcs11 load only when a token signs
            from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session  # pyHanko loads only when a token signs
        except ImportError as error:
            raise CaseError("Signing with a token needs the package python-pkcs11 (pip install 'crossid-desktop[tokens]').") from error
        module = Path(self.module).expanduser()
        if not module.is_file():
            raise CaseError(f"The PKCS#11 module {module} does not exist; give the library your card or token came with.")
        try:
            session = open_pkcs11_session(str(module), token_criteria=TokenCriteria(label=self.token), user_pin=self.pin)
        except Exception as error:  # python-pkcs11 raises a type per PKCS#11 return value; one sentence for the user
            raise CaseError(f"The token {self.token!r} cannot be opened ({_reason(error)}).") from error
        try:
            signer = PKCS11Signer(session, cert_label=self.key, key_label=self.key)
            if signer.signing_cert.public_key.algorithm == "ec":
                signer = PKCS11Signer(session, cert_label=self.key, key_label=self.key, use_raw_mechanism=True)
            credentials = credentials_of(signer, session)
        except Exception as error:  # as above: a missing key or certificate, an unreadable certificate
            session.close()
            raise CaseError(f"The token {self.token!r} holds no key and certificate labelled {self.key!r} ({_reason(error)}).") from error
        return SigningRequest(credentials, self.role, tsa=self.tsa or None, location=self.location)


def _reason(error: BaseException) -> str:
    words = {"PinIncorrect": "the PIN is wrong", "PinLenRange": "the PIN is wrong", "PinLocked": "the PIN is locked",
             "NoSuchToken": "no such token", "TokenNotPresent": "the token is not inserted"}
    return words.get(type(error).__name__) or (str(error).strip().splitlines() or [type(error).__name__])[0][:200]

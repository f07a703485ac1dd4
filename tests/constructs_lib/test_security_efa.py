"""The EFA driver's boot script verifies the pinned installer before anything is unpacked (issue 16, item 4).

The commands are run for real with bash, curl (``file://`` URLs) and gpg against a throwaway signing key
and a fake installer tarball: a good signature installs (the fake ``efa_installer.sh`` runs with
``--check-signatures`` and the key); a tampered tarball, a signature by another key, a key whose
fingerprint is not the pinned one, or a wrong SHA256 stop the script with exit 1 and one
``mnp: EFA driver NOT installed`` line, before ``tar`` runs. The construct tests check that the compute
environment's user data carries exactly these commands with AWS's pinned version and fingerprint.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from constructs_lib.compute_environment import (
    EFA_DRIVER_INSTALL_COMMANDS,
    EFA_INSTALLER_GPG_FINGERPRINT,
    EFA_INSTALLER_VERSION,
    efa_driver_install_commands,
)

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg is not installed")

VERSION = "9.9.9"
TARBALL = f"aws-efa-installer-{VERSION}.tar.gz"
INSTALLER = """#!/bin/sh
echo "$@" > "$MNP_TEST_MARKER"
test -s "$EFA_INSTALLER_KEY" || exit 3
"""


def _gpg(home: Path, *args: str, input: bytes | None = None) -> bytes:
    result = subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], input=input, capture_output=True, check=True, timeout=60
    )
    return result.stdout


def _fingerprint(home: Path) -> str:
    for line in _gpg(home, "--with-colons", "--fingerprint").decode().splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    raise AssertionError("no fingerprint")


def _kill_agent(home: Path) -> None:
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], capture_output=True, timeout=30)


@dataclass
class Mirror:
    """A directory served as the installer's base URL (file://), signed by ``fingerprint``'s key."""

    root: Path
    fingerprint: str
    marker: Path

    @property
    def url(self) -> str:
        return f"file://{self.root}"


def _make_key(home: Path, name: str) -> str:
    home.mkdir(mode=0o700)
    _gpg(home, "--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.invalid>", "ed25519", "sign", "never")
    return _fingerprint(home)


def _tarball() -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as archive:
        body = INSTALLER.encode()
        info = tarfile.TarInfo("aws-efa-installer/efa_installer.sh")
        info.size, info.mode = len(body), 0o755
        archive.addfile(info, io.BytesIO(body))
    return data.getvalue()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A short directory: gpg's agent socket lives in GNUPGHOME, and a UNIX socket path has ~100 bytes."""
    root = Path(tempfile.mkdtemp(prefix="mnp-efa-", dir="/tmp"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mirror(short_tmp: Path) -> Iterator[Mirror]:
    tmp_path = short_tmp
    signer, other = tmp_path / "signer", tmp_path / "other"
    try:
        fingerprint = _make_key(signer, "efa")
        _make_key(other, "attacker")
        root = tmp_path / "mirror"
        root.mkdir()
        (root / TARBALL).write_bytes(_tarball())
        _gpg(signer, "--detach-sign", "--output", str(root / f"{TARBALL}.sig"), str(root / TARBALL))
        (root / "aws-efa-installer.key").write_bytes(_gpg(signer, "--armor", "--export", fingerprint))
        (tmp_path / "other.sig").write_bytes(_gpg(other, "--detach-sign", "--output", "-", str(root / TARBALL)))
        (tmp_path / "other.key").write_bytes(_gpg(other, "--armor", "--export"))
        yield Mirror(root=root, fingerprint=fingerprint, marker=tmp_path / "installed")
    finally:
        _kill_agent(signer)
        _kill_agent(other)


def _boot(mirror: Mirror, tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess[str]:
    tmp_path = mirror.root.parent  # the short directory (see short_tmp)
    options = {"version": VERSION, "fingerprint": mirror.fingerprint, "base_url": mirror.url, **overrides}
    script = "\n".join(["set -euo pipefail", *efa_driver_install_commands(**options)])
    work = tmp_path / "boot-tmp"
    work.mkdir(exist_ok=True)
    # The script's keyring lives under TMPDIR; the boot script starts no gpg-agent (--no-autostart).
    env = {"PATH": os.environ["PATH"], "TMPDIR": str(work), "MNP_TEST_MARKER": str(mirror.marker)}
    return subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120)


def _unpacked(mirror: Mirror) -> list[Path]:
    return list((mirror.root.parent / "boot-tmp").glob("*/aws-efa-installer"))


def test_a_good_signature_by_the_pinned_key_installs(mirror: Mirror, tmp_path: Path) -> None:
    result = _boot(mirror, tmp_path)

    assert result.returncode == 0, result.stderr
    assert mirror.marker.read_text().split() == ["-y", "--minimal", "--check-signatures"]


def test_a_tampered_tarball_stops_the_boot_script_before_unpacking(mirror: Mirror, tmp_path: Path) -> None:
    with (mirror.root / TARBALL).open("ab") as tarball:
        tarball.write(b"\0")

    result = _boot(mirror, tmp_path)

    assert result.returncode == 1
    assert "mnp: EFA driver NOT installed: the signature of" in result.stderr
    assert not mirror.marker.exists() and not _unpacked(mirror)


def test_a_signature_by_another_key_in_the_same_key_file_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    """The attacker's key sits beside AWS's in the downloaded key file and signed the tarball: the pinned
    fingerprint is present, yet the signature is not by it."""
    key_file = mirror.root / "aws-efa-installer.key"
    key_file.write_bytes(key_file.read_bytes() + (mirror.root.parent / "other.key").read_bytes())
    shutil.copy(mirror.root.parent / "other.sig", mirror.root / f"{TARBALL}.sig")

    result = _boot(mirror, tmp_path)

    assert result.returncode == 1
    assert f"is not signed by {mirror.fingerprint}" in result.stderr
    assert not mirror.marker.exists() and not _unpacked(mirror)


def test_a_key_that_is_not_the_published_one_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    result = _boot(mirror, tmp_path, fingerprint=EFA_INSTALLER_GPG_FINGERPRINT)

    assert result.returncode == 1
    assert "the signing key is not AWS's published key" in result.stderr
    assert not mirror.marker.exists() and not _unpacked(mirror)


def test_a_wrong_sha256_is_refused_and_the_right_one_passes(mirror: Mirror, tmp_path: Path) -> None:
    import hashlib

    right = hashlib.sha256((mirror.root / TARBALL).read_bytes()).hexdigest()

    wrong = _boot(mirror, tmp_path, sha256="0" * 64)
    assert wrong.returncode == 1 and "the SHA256 of" in wrong.stderr
    assert not mirror.marker.exists()

    good = _boot(mirror, tmp_path, sha256=right)
    assert good.returncode == 0, good.stderr
    assert mirror.marker.exists()


def test_a_missing_download_is_refused(mirror: Mirror, tmp_path: Path) -> None:
    (mirror.root / f"{TARBALL}.sig").unlink()

    result = _boot(mirror, tmp_path)

    assert result.returncode == 1 and f"download of {TARBALL}.sig failed" in result.stderr


def test_the_shipped_commands_pin_the_version_and_aws_fingerprint_over_https_only() -> None:
    script = "\n".join(EFA_DRIVER_INSTALL_COMMANDS)
    assert EFA_INSTALLER_VERSION == "1.50.0"
    published = "4E90 91BC BB97 A96B 26B1 5E59 A054 80B1 DD2D 3CCC"  # EC2 user guide, efa-start pages
    assert published.replace(" ", "") == EFA_INSTALLER_GPG_FINGERPRINT
    assert f"https://efa-installer.amazonaws.com/aws-efa-installer-{EFA_INSTALLER_VERSION}.tar.gz" in script
    assert "latest" not in script
    assert "--proto =https " in script
    # verification comes before unpacking
    assert script.index("VALIDSIG") < script.index("tar -xf")

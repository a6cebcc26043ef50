"""Dashboard users: scrypt hashes that verify only their password, a users file that says
what is wrong with it, and `vigil dashboard --hash-password` printing a usable line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipeline.queries import dashboard_users
from pipeline.queries.dashboard_users import UsersFileError
from pipeline.settings import REPO_ROOT


def test_a_hash_verifies_its_password_only():
    encoded = dashboard_users.hash_password("correct horse")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert dashboard_users.verify_password("correct horse", encoded)
    assert not dashboard_users.verify_password("correct horse ", encoded)
    assert not dashboard_users.verify_password("correct horse", encoded.replace("scrypt", "bcrypt"))
    assert not dashboard_users.verify_password("x", "not-a-hash")
    assert dashboard_users.hash_password("same") != dashboard_users.hash_password("same")  # salted


def test_login_checks_name_and_password():
    users = {"ana": dashboard_users.hash_password("s3cret")}
    assert dashboard_users.check_login(users, "ana", "s3cret")
    assert not dashboard_users.check_login(users, "ana", "wrong")
    assert not dashboard_users.check_login(users, "bob", "s3cret")


def test_the_users_file_skips_comments_and_names_the_bad_line(tmp_path):
    line = f"ana:{dashboard_users.hash_password('a')}"
    assert list(dashboard_users.parse_users(f"# users\n\n{line}\n")) == ["ana"]
    with pytest.raises(UsersFileError, match="line 2: expected `name:scrypt"):
        dashboard_users.parse_users(f"{line}\nbob:plaintext\n")
    with pytest.raises(UsersFileError, match="line 2: ana is listed twice"):
        dashboard_users.parse_users(f"{line}\n{line}\n")
    with pytest.raises(UsersFileError, match="cannot read the dashboard users file"):
        dashboard_users.load_users(tmp_path / "missing")
    (tmp_path / "empty").write_text("# nobody yet\n")
    with pytest.raises(UsersFileError, match="lists no users"):
        dashboard_users.load_users(tmp_path / "empty")


def test_vigil_dashboard_hash_password_prints_a_users_line():
    done = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "dashboard", "--hash-password", "ana"],
                          input="open sesame\n", capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    users = dashboard_users.parse_users(done.stdout)
    assert dashboard_users.check_login(users, "ana", "open sesame")
    refused = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "dashboard", "--hash-password", "ana smith"],
                             input="x\n", capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert refused.returncode == 2 and "cannot be a user name" in refused.stderr

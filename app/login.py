"""Who may look: the login every page passes first (``main.py`` calls :func:`require_login`).

Three ways, the first configured wins:

1. **OIDC** through Streamlit's own ``st.login`` when ``.streamlit/secrets.toml`` has an
   ``[auth]`` section (one provider in ``[auth]`` itself, or named ones in ``[auth.NAME]``);
   Streamlit keeps the identity in a signed cookie, ``st.user`` says who it is.
2. **Configured users** with scrypt-hashed passwords in the file ``VIGIL_DASHBOARD_USERS``
   names (:mod:`pipeline.queries.dashboard_users`); a signed-in user stays signed in for the browser
   session (a reload asks again).
3. **Nobody configured**: the dashboards are open — as on a developer's machine, where they
   listen on 127.0.0.1 only. The sidebar says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import streamlit as st

from pipeline import settings
from pipeline.queries import dashboard_users

USER_KEY = "vigil_user"  # session state: the name of the signed-in configured user
FAILED_LOGIN_DELAY_S = 1.0  # every wrong attempt waits this long: guessing stays slow


def _oidc_providers() -> list[str | None] | None:
    """The OIDC providers configured in secrets.toml ([None] = the unnamed one), or None."""
    try:
        section = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets.toml at all (StreamlitSecretNotFoundError)
        return None
    if not isinstance(section, Mapping) or not section:
        return None
    named = [name for name, value in section.items() if isinstance(value, Mapping)]
    return named or [None]


@st.cache_resource(show_spinner=False)
def _users(path: str) -> dict[str, str]:
    return dashboard_users.load_users(path)


def require_login() -> str | None:
    """Stop the run with a login form unless the viewer is signed in; the signed-in name (None
    when no login is configured). Draws who is signed in, and a way out, in the sidebar."""
    providers = _oidc_providers()
    if providers is not None:
        return _oidc_login(providers)
    users_file = settings.load().dashboard_users
    if users_file:
        try:
            users = _users(users_file)
        except dashboard_users.UsersFileError as error:
            st.error(str(error), icon=":material/lock:")
            st.stop()
        return _password_login(users)
    st.sidebar.caption(":material/lock_open: No login configured: anyone who can reach this address can look. "
                       "Set VIGIL_DASHBOARD_USERS or OIDC before exposing it.")
    return None


def _oidc_login(providers: list[str | None]) -> str:
    if st.user.get("is_logged_in", False):  # absent until auth is configured and read
        who = str(st.user.get("email") or st.user.get("name") or "signed in")
        st.sidebar.text(who)  # the identity as plain text: nothing from outside is interpreted
        if st.sidebar.button("Log out", icon=":material/logout:", key="vigil_logout"):
            st.logout()
        return who
    st.title("Vigil")
    st.write("Sign in to see the dashboards.")
    for provider in providers:
        label = f"Log in with {provider}" if provider else "Log in"
        if st.button(label, icon=":material/login:", key=f"vigil_login_{provider or 'default'}"):
            st.login(provider) if provider else st.login()
    st.stop()


def _password_login(users: dict[str, str]) -> str:
    signed_in = st.session_state.get(USER_KEY)
    if signed_in in users:
        st.sidebar.text(signed_in)
        if st.sidebar.button("Log out", icon=":material/logout:", key="vigil_logout"):
            del st.session_state[USER_KEY]
            st.rerun()
        return signed_in
    st.title("Vigil")
    with st.form("vigil_login"):
        name = st.text_input("User name", key="vigil_login_name")
        password = st.text_input("Password", type="password", key="vigil_login_password")
        submitted = st.form_submit_button("Log in", icon=":material/login:")
    if submitted:
        if dashboard_users.check_login(users, name.strip(), password):
            st.session_state[USER_KEY] = name.strip()
            st.rerun()
        time.sleep(FAILED_LOGIN_DELAY_S)
        st.error("Wrong user name or password.", icon=":material/lock:")
    st.stop()


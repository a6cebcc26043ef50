"""Vigil's dashboards: the Streamlit entry point (``vigil dashboard`` runs it).

The frame around every page: page config, the login (``login.py``), the navigation, and the
shared sidebar filters (project, time range, dimensions). Each page is a file in ``views/`` and
reads the filters with ``view_filters.current()``. (Not ``pages/``: Streamlit would also treat
that folder as its legacy multipage layout, and a link straight to a page, opened before the
root ever ran, would run the page's file alone — without this frame and its filters.)
"""

from pathlib import Path

import streamlit as st

import login
import view_filters

APP_DIR = Path(__file__).resolve().parent
# the pages, in menu order: file, title, icon
PAGES: tuple[tuple[str, str, str], ...] = (
    ("views/overview.py", "Overview", ":material/dashboard:"),
    ("views/web_vitals.py", "Web Vitals", ":material/speed:"),
    ("views/errors.py", "Errors", ":material/bug_report:"),
    ("views/funnels.py", "Funnels", ":material/filter_alt:"),
    ("views/traffic.py", "Traffic", ":material/group:"),
    ("views/alerts.py", "Alerts", ":material/notifications:"),
    ("views/data_quality.py", "Data quality", ":material/verified:"),
)
DEFAULT_PAGE = "views/overview.py"


def frame(default: str = DEFAULT_PAGE) -> None:
    """Draw the frame and run the page the viewer is on (``default`` when the URL names none)."""
    st.set_page_config(page_title="Vigil", page_icon=":material/monitor_heart:", layout="wide")
    login.require_login()
    page = st.navigation([st.Page(APP_DIR / path, title=title, icon=icon, default=path == default,
                                  url_path=Path(path).stem) for path, title, icon in PAGES])
    st.sidebar.title(":material/monitor_heart: Vigil")
    if view_filters.sidebar() is None:
        st.info("Nothing to show yet: Vigil has no project. Create one with `vigil project create NAME`.")
        st.stop()
    page.run()


if __name__ == "__main__":
    frame()
